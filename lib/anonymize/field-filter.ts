// The anonymizer's fast path: one walk over the raw bytes of a COPY text field that says whether the
// field must be decoded at all. Most text (millions of job log lines) holds nothing a detector could
// match and no word that starts a personal value; decoding it to a string, running the detector regex
// and fingerprinting its words costs far more than this walk. The answer may be a false "yes" (the
// field is then decoded and handled exactly as before), never a false "no": each check below is a
// necessary condition of a pattern in detectors.ts, and the words are cut exactly as leak-scan.ts cuts
// them, so a field that passes through unchanged would have come out of the slow path unchanged too.

/** Receives each word of a field (its two hash lanes, see wordLanes); true = it may start a personal value. */
export interface WordSink {
  word(h1: number, h2: number): boolean
}

/**
 * true when the raw field bytes [start, end) must be decoded and looked at: a detector could match
 * (`detect`), a word may start a personal value (`words`), or the bytes are outside what this walk
 * reads exactly (non-ASCII text for the word scan, escapes other than pg_dump's \b \f \n \r \t \v \\).
 */
export function mustDecode(buf: Uint8Array, start: number, end: number, detect: boolean, words: WordSink | undefined): boolean {
  let h1 = 0
  let h2 = 0
  let a1 = 0 // lanes up to the word's last letter or digit: a word never ends in . _ % + @ ' -
  let a2 = 0
  let inWord = false
  let prev = 0x20
  let prev2 = 0x20
  let digits = 0
  let digitRun = 0
  let groups = 0 // phone "ddd.ddd.dddd": groups of 3+ digits ended by '.' or '-' just before
  let phone = false
  let hexColons = 0
  let keyword = false // the last byte ended "token"/"Token"/"bearer"/"Bearer"/"BEARER"
  let run = -1 // start of the current run of digits and dots (a dotted quad?)
  let runDots = 0
  let runDotted = false // the run has a digit, a dot and a digit in a row
  for (let i = start; i < end; i++) {
    let c = buf[i]!
    const at = i
    if (c >= 0x80) {
      if (words) return true // a Unicode letter or separator: the word rules are Unicode
      c = 0x20 // the detectors' patterns are ASCII; to them it is a separator
    } else if (c === 0x5c) {
      if (i + 1 >= end || ESCAPE_IS_SEPARATOR[buf[i + 1]!] !== 1) return true
      i++
      c = 0x20 // a control character or a backslash once decoded: a separator to both
    }
    const k = CLASS[c]!
    if (words) {
      if (k & ALNUM) {
        if (!inWord) {
          inWord = true
          h1 = SEED1
          h2 = SEED2
        }
        const l = k & UPPER ? c | 0x20 : c
        h1 = Math.imul(h1 ^ l, PRIME1)
        h2 = Math.imul(h2 ^ l, PRIME2)
        a1 = h1
        a2 = h2
      } else if (inWord && k & INNER) {
        h1 = Math.imul(h1 ^ c, PRIME1)
        h2 = Math.imul(h2 ^ c, PRIME2)
      } else if (inWord) {
        inWord = false
        if (words.word(a1, a2)) return true
      }
    }
    if (detect) {
      if (keyword && !(k & WORD)) return true // "Bearer " / "token ": a bearer token may follow
      keyword = false
      // Most bytes are letters and spaces outside any digit run: for them every branch below is a no-op
      // (no run to end, no group to count, no colon run, no keyword to start), so they skip it.
      if (k & PLAIN && run < 0 && digitRun === 0 && groups === 0 && hexColons === 0) {
        // nothing to do but remember the byte
      } else if (k & DIGIT) {
        digits++
        digitRun++
        if (run < 0) {
          run = at
          runDots = 0
          runDotted = false
        } else if (prev === 0x2e && CLASS[prev2]! & DIGIT) runDotted = true
        if (prev === 0x2b || prev === 0x28) phone = true // "+d", "(d": an international or (area) number
      } else {
        if (c === 0x2e && run >= 0) runDots++
        else if (run >= 0) {
          if (runDotted && !harmlessIp(buf, run, at, runDots)) return true
          run = -1
        }
        if (c === 0x2d || c === 0x2e) {
          if (groups === 2 && digitRun >= 4) phone = true
          groups = digitRun >= 3 ? Math.min(groups + 1, 2) : 0
        } else {
          if (groups === 2 && digitRun >= 4) phone = true
          groups = 0
        }
        digitRun = 0
        if (c === 0x40 || c === 0x3d) return true // '@': e-mail, user:password@host; '=': a token parameter
        if (c === 0x3a) {
          if (prev === 0x3a || ++hexColons >= 7) return true // an IPv6 address: "::" or eight groups
        } else if (hexColons !== 0 && !(k & HEX)) hexColons = 0
        if (c === 0x6e) keyword = i - 3 >= start && buf[i - 1] === 0x65 && buf[i - 2] === 0x6b && buf[i - 3] === 0x6f
        else if (c === 0x72) keyword = i - 4 >= start && buf[i - 1] === 0x65 && buf[i - 2] === 0x72 && buf[i - 3] === 0x61 && buf[i - 4] === 0x65
        else if (c === 0x52) keyword = i - 4 >= start && buf[i - 1] === 0x45 && buf[i - 2] === 0x52 && buf[i - 3] === 0x41 && buf[i - 4] === 0x45
        else if (c === 0x4a && prev === 0x79 && prev2 === 0x65) return true // "eyJ": a JWT
      }
    }
    prev2 = prev
    prev = c
  }
  if (inWord && words!.word(a1, a2)) return true
  if (!detect) return false
  if (run >= 0 && runDotted && !harmlessIp(buf, run, end, runDots)) return true
  if (groups === 2 && digitRun >= 4) phone = true
  return phone && digits >= 7 // a phone number is replaced only with 7 digits or more
}

/**
 * A run of digits and dots that is exactly one dotted quad in a range the IP detector leaves alone
 * (private, loopback, link-local, documentation, x.0.0.0). With exactly three dots, the detector can
 * only match the whole run, so nothing in it would be replaced. Anything else: false (decode it).
 */
function harmlessIp(buf: Uint8Array, start: number, end: number, dots: number): boolean {
  if (dots !== 3) return false
  const o = [0, 0, 0, 0]
  let n = 0
  let len = 0
  for (let i = start; i < end; i++) {
    const c = buf[i]!
    if (c === 0x2e) {
      if (len === 0) return false
      n++
      len = 0
      continue
    }
    if (len > 0 && o[n] === 0) return false // a leading zero: not an octet the detector reads
    o[n] = o[n]! * 10 + (c - 0x30)
    if (++len > 3 || o[n]! > 255) return false
  }
  if (len === 0) return false
  const [a, b, c, d] = o as [number, number, number, number]
  return a === 10 || a === 127 || (a === 169 && b === 254) || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113) || (b === 0 && c === 0 && d === 0)
}

/** The same two hash lanes for a word given as a string (already lower-cased), into `out`. */
export function wordLanes(lower: string, out: Int32Array): void {
  let h1 = SEED1
  let h2 = SEED2
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, PRIME1)
    h2 = Math.imul(h2 ^ c, PRIME2)
  }
  out[0] = h1
  out[1] = h2
}

/**
 * A blocked Bloom filter over word hashes: "certainly not added" or "maybe added", three bits in one
 * 512-bit block, so a probe costs one cache line. In memory only and never stored: the lanes are an
 * unkeyed hash of the word.
 */
export class WordBloom {
  private readonly bits: Int32Array
  private readonly blocks: number

  constructor(log2Bits: number) {
    this.bits = new Int32Array(1 << (log2Bits - 5))
    this.blocks = (1 << (log2Bits - 9)) - 1
  }

  add(h1: number, h2: number): void {
    const base = (mix1(h1, h2) & this.blocks) << 4
    const q = mix2(h1, h2)
    const b0 = q & 511
    const b1 = (q >>> 9) & 511
    const b2 = (q >>> 18) & 511
    this.bits[base + (b0 >>> 5)]! |= 1 << (b0 & 31)
    this.bits[base + (b1 >>> 5)]! |= 1 << (b1 & 31)
    this.bits[base + (b2 >>> 5)]! |= 1 << (b2 & 31)
  }

  has(h1: number, h2: number): boolean {
    const base = (mix1(h1, h2) & this.blocks) << 4
    const q = mix2(h1, h2)
    const b0 = q & 511
    const b1 = (q >>> 9) & 511
    const b2 = (q >>> 18) & 511
    return (this.bits[base + (b0 >>> 5)]! & (1 << (b0 & 31))) !== 0 && (this.bits[base + (b1 >>> 5)]! & (1 << (b1 & 31))) !== 0 && (this.bits[base + (b2 >>> 5)]! & (1 << (b2 & 31))) !== 0
  }

  copy(): WordBloom {
    const c = new WordBloom(31 - Math.clz32(this.bits.length) + 5)
    c.bits.set(this.bits)
    return c
  }
}

// FNV-1a and a murmur-like second lane, over lower-cased bytes (ASCII) or UTF-16 units (strings): for
// ASCII words the two agree, and non-ASCII words are only ever hashed from strings.
const SEED1 = 0x811c9dc5 | 0
const SEED2 = 0x9747b28c | 0
const PRIME1 = 0x01000193
const PRIME2 = 0x5bd1e995

function mix1(h1: number, h2: number): number {
  h1 ^= h1 >>> 16
  h1 = Math.imul(h1 ^ h2, 0x85ebca6b)
  return h1 ^ (h1 >>> 13)
}

function mix2(h1: number, h2: number): number {
  h2 ^= h2 >>> 15
  h2 = Math.imul(h2 + h1, 0xc2b2ae35)
  return h2 ^ (h2 >>> 16)
}

const ALNUM = 1
const INNER = 2 // may continue a word: . _ % + @ ' - (leak-scan.ts WORD, ASCII part)
const DIGIT = 4
const HEX = 8
const WORD = 16 // \w of a non-Unicode RegExp: what \b looks at
const UPPER = 32
/** Not a digit and none of . - @ = : n r R J: a byte the detector walk only has to remember. */
const PLAIN = 64

const CLASS = (() => {
  const t = new Uint8Array(128)
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c)
    if (/[A-Za-z0-9]/.test(ch)) t[c]! |= ALNUM | WORD
    if (/[._%+@'-]/.test(ch)) t[c]! |= INNER
    if (/[0-9]/.test(ch)) t[c]! |= DIGIT
    if (/[0-9A-Fa-f]/.test(ch)) t[c]! |= HEX
    if (ch === '_') t[c]! |= WORD
    if (/[A-Z]/.test(ch)) t[c]! |= UPPER
    if (!/[0-9.\-@=:nrRJ]/.test(ch)) t[c]! |= PLAIN
  }
  return t
})()

/** Escapes that decode to a control character or a backslash (what pg_dump writes). */
const ESCAPE_IS_SEPARATOR = (() => {
  const t = new Uint8Array(256)
  for (const ch of 'bfnrtv\\') t[ch.charCodeAt(0)] = 1
  return t
})()
