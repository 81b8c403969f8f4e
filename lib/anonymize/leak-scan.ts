// The built-in leak scan: keyed fingerprints (HMAC with the salt, never the values) of every original
// value of the personal columns, looked for in every text field of the output. A value is matched by
// its words, whatever separates them (spaces, a line break, punctuation), case-insensitively, so
// "Jane\nDoe" in a news body is a finding for a users.name "Jane Doe". Findings are masked with a fake
// of the value's kind and counted per table, column and kind; the value itself is never kept or shown.
import type { Keyed } from './transforms.ts'
import { fakeName, hashEmail, hashToken } from './transforms.ts'
import { WordBloom, wordLanes, type WordSink } from './field-filter.ts'

/** What a personal column holds, for the fake that masks a finding and for the report. */
export type LeakKind = 'email' | 'name' | 'id' | 'phone' | 'secret' | 'value'

export interface LeakFinding {
  /** Where it was found (schema.table, column). */
  table: string
  column: string
  /** What was found: the kind and the personal column it came from. */
  kind: LeakKind
  source: string
  count: number
}

/** Fingerprints as stored beside a snapshot (for `snapshots scan`): no value, no unkeyed hash. */
export interface StoredFingerprints {
  format: 1
  saltFingerprint: string
  /** Personal columns, referenced by index below. */
  sources: { source: string; kind: LeakKind }[]
  /** base64 12-byte HMAC of the normalized value -> [source index, word count, first word's 6-byte HMAC] */
  values: [string, number, number, string][]
}

const WORD = /[\p{L}\p{N}](?:[\p{L}\p{N}._%+@'’-]*[\p{L}\p{N}])?/gu
/** A word-number limit per value: names and addresses are short; a long text is not a fingerprint. */
const MAX_WORDS = 6
const TOKEN_MEMO_LIMIT = 1 << 20
/** Words met in text (32 MiB of bits): at a million distinct words a false "seen" (an extra rescan)
 * stays near 1e-6 per personal value. */
const SEEN_LOG2_BITS = 28
const HEADS_LOG2_BITS = 24

export interface LeakIndexOptions {
  /** Remember which words text has held, for needsRescan() (the first pass of a pull). */
  trackSeen?: boolean
}

export class LeakIndex implements WordSink {
  private readonly sources: { source: string; kind: LeakKind }[] = []
  private readonly sourceIndex = new Map<string, number>()
  /** full fingerprint -> source index */
  private readonly full = new Map<string, number>()
  /** full fingerprint -> [word count, first word's fingerprint] (what is stored) */
  private readonly meta = new Map<string, [number, string]>()
  /** first word's fingerprint -> word counts of values starting with it */
  private readonly first = new Map<string, Set<number>>()
  private readonly tokenMemo = new Map<string, string>()
  /** The first words of indexed values, by unkeyed hash: a word not in it starts no value, without an
   * HMAC. Absent for an index read from storage (only keyed fingerprints are stored). */
  private heads: WordBloom | undefined = new WordBloom(HEADS_LOG2_BITS)
  /** Words met in text so far (first pass only). */
  private readonly seen: WordBloom | undefined
  /** A value was indexed whose first word text had already shown: that text must be scanned again. */
  private seenBeforeIndexed = false
  private readonly findings = new Map<string, LeakFinding>()
  private readonly lanes = new Int32Array(2)

  constructor(private readonly k: Keyed, opts: LeakIndexOptions = {}) {
    this.seen = opts.trackSeen ? new WordBloom(SEEN_LOG2_BITS) : undefined
  }

  /** Whether word(), and so the byte-level fast path, can tell a field holds no indexed value. */
  get prefilters(): boolean {
    return this.heads !== undefined
  }

  /** WordSink: one word of a text field, by its lanes (field-filter.ts). */
  word(h1: number, h2: number): boolean {
    this.seen?.add(h1, h2)
    return this.heads === undefined || this.heads.has(h1, h2)
  }

  get size(): number {
    return this.full.size
  }

  /** Remembers an original personal value (by fingerprint only). */
  add(source: string, kind: LeakKind, value: string): void {
    const words = value.match(WORD)
    if (!words || words.length > MAX_WORDS || !worthScanning(words)) return
    const norm = words.join(' ').toLowerCase()
    const fp = this.fingerprint(norm)
    if (this.full.has(fp)) return
    let si = this.sourceIndex.get(source)
    if (si === undefined) {
      si = this.sources.push({ source, kind }) - 1
      this.sourceIndex.set(source, si)
    }
    this.full.set(fp, si)
    const lower = words[0]!.toLowerCase()
    const head = this.wordFp(lower)
    this.meta.set(fp, [words.length, head])
    wordLanes(lower, this.lanes)
    this.heads?.add(this.lanes[0]!, this.lanes[1]!)
    if (this.seen?.has(this.lanes[0]!, this.lanes[1]!)) this.seenBeforeIndexed = true
    let counts = this.first.get(head)
    if (!counts) this.first.set(head, (counts = new Set()))
    counts.add(words.length)
  }

  /**
   * Masks every indexed value found in `text`: the new text, and the source index of each finding
   * (count them with count(), once per occurrence of the field).
   */
  scan(text: string): { text: string; found?: number[] } {
    const words = [...text.matchAll(WORD)]
    if (words.length === 0) return { text }
    const spans: { start: number; end: number; si: number; norm: string }[] = []
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!
      const lower = w[0].toLowerCase()
      wordLanes(lower, this.lanes)
      if (!this.word(this.lanes[0]!, this.lanes[1]!)) continue
      const counts = this.first.get(this.wordFp(lower))
      if (!counts) continue
      // Longest match first: "Jane Doe" before a user named "Jane".
      for (const n of [...counts].sort((a, b) => b - a)) {
        if (i + n > words.length) continue
        const norm = words.slice(i, i + n).map((x) => x[0]).join(' ').toLowerCase()
        const si = this.full.get(this.fingerprint(norm))
        if (si === undefined) continue
        const last = words[i + n - 1]!
        spans.push({ start: w.index!, end: last.index! + last[0].length, si, norm })
        i += n - 1
        break
      }
    }
    if (spans.length === 0) return { text }
    let out = ''
    let at = 0
    for (const s of spans) {
      out += text.slice(at, s.start) + this.mask(this.sources[s.si]!.kind, s.norm)
      at = s.end
    }
    return { text: out + text.slice(at), found: spans.map((s) => s.si) }
  }

  /** Records findings of one field occurrence found in table/column. */
  count(table: string, column: string, found: readonly number[]): void {
    for (const si of found) {
      const src = this.sources[si]!
      const key = `${table}\0${column}\0${src.source}`
      const f = this.findings.get(key)
      if (f) f.count++
      else this.findings.set(key, { table, column, kind: src.kind, source: src.source, count: 1 })
    }
  }

  /** True when a word met in text before its value was indexed starts an indexed value: the text that
   * passed before must be scanned again (pg_dump writes tables by name, so users come after news). */
  needsRescan(): boolean {
    return this.seenBeforeIndexed
  }

  /** A copy that only scans (for the second pass): same fingerprints, no findings, nothing seen. */
  forRescan(): LeakIndex {
    const copy = new LeakIndex(this.k)
    copy.sources.push(...this.sources)
    for (const [k, v] of this.sourceIndex) copy.sourceIndex.set(k, v)
    for (const [k, v] of this.full) copy.full.set(k, v)
    for (const [k, v] of this.meta) copy.meta.set(k, v)
    copy.heads = this.heads?.copy()
    for (const [k, v] of this.first) copy.first.set(k, new Set(v))
    return copy
  }

  result(): LeakFinding[] {
    return [...this.findings.values()].sort((a, b) => (a.table + a.column + a.source < b.table + b.column + b.source ? -1 : 1))
  }

  addFindings(more: readonly LeakFinding[]): void {
    for (const f of more) {
      const key = `${f.table}\0${f.column}\0${f.source}`
      const have = this.findings.get(key)
      if (have) have.count += f.count
      else this.findings.set(key, { ...f })
    }
  }

  toStored(saltFingerprint: string): StoredFingerprints {
    const values: StoredFingerprints['values'] = []
    for (const [fp, si] of this.full) {
      const [n, head] = this.meta.get(fp)!
      values.push([fp, si, n, head])
    }
    return { format: 1, saltFingerprint, sources: [...this.sources], values }
  }

  static fromStored(k: Keyed, stored: StoredFingerprints): LeakIndex {
    const idx = new LeakIndex(k)
    idx.heads = undefined // every word is looked up by its keyed fingerprint
    for (const s of stored.sources) {
      idx.sourceIndex.set(s.source, idx.sources.push({ ...s }) - 1)
    }
    for (const [fp, si, n, head] of stored.values) {
      idx.full.set(fp, si)
      let counts = idx.first.get(head)
      if (!counts) idx.first.set(head, (counts = new Set()))
      counts.add(n)
      idx.meta.set(fp, [n, head])
    }
    return idx
  }

  private fingerprint(norm: string): string {
    return this.k.hmac(`leak\0${norm}`).subarray(0, 12).toString('base64')
  }

  private wordFp(lower: string): string {
    let fp = this.tokenMemo.get(lower)
    if (fp === undefined) {
      fp = this.k.hmac(`leak-word\0${lower}`).subarray(0, 6).toString('base64')
      if (this.tokenMemo.size >= TOKEN_MEMO_LIMIT) this.tokenMemo.clear()
      this.tokenMemo.set(lower, fp)
    }
    return fp
  }

  private mask(kind: LeakKind, norm: string): string {
    switch (kind) {
      case 'email':
        return hashEmail(this.k, norm)
      case 'name':
        return fakeName(this.k, norm, false)
      case 'id':
        return hashToken(this.k, norm)
      default:
        return '[redacted]'
    }
  }
}

/** Too short or too common to mean anything found in text (ids like 42, single letters). */
function worthScanning(words: string[]): boolean {
  const joined = words.join('')
  if (joined.length < 4) return false
  if (/^\d+$/.test(joined) && joined.length < 6) return false
  return true
}
