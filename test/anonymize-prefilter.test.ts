// The byte-level fast path (lib/anonymize/field-filter.ts) may only skip a field the slow path would
// leave unchanged. Checked against the real detectors and leak index on random texts built from the
// pieces that make them match (and almost match): every field the slow path changes, the filter sends
// to the slow path, and most plain log lines it lets through.
import t from 'tap'
import { decodeField, encodeField, freeTextTransform, keyed } from '../lib/anonymize/index.ts'
import { mustDecode, WordBloom } from '../lib/anonymize/field-filter.ts'
import { LeakIndex } from '../lib/anonymize/leak-scan.ts'

const k = keyed('prefilter-test-salt-0123456789')
const detect = freeTextTransform(k)

// Pieces of text around every pattern's edges: addresses, IPs public and private, phones in three forms,
// tokens, JWT heads, URLs with credentials or token parameters, near misses, escapes and non-ASCII.
const PIECES = [
  'jane.doe@mail.com', 'a@b', '@', '=', 'x=1', '?token=abcdef123456', '&sig=0123456789ab', 'https://', 'user:pw@host.org', '://u:p@h',
  '8.8.8.8', '10.0.3.4', '192.168.1.20', '172.20.1.1', '172.32.1.1', '203.0.113.9', '4.0.0.0', '1.2.3.4.5', '300.1.2.3', '01.2.3.4', '9.9.9.9.',
  '2001:4860:4860::8888', 'fe80::1', '1:2:3:4:5:6:7:8', 'a:b:c', '::', 'node:net:1607:16',
  '+1 415 555 2671', '+44 20 7946 0958', '(415) 555-2671', '415.555.2671', '415-555-2671', '555-1234', '12.345.6789', '1234567',
  'Bearer abcdefghijklmnop0123', 'token ABCDEFGHIJKLMNOPQRS', 'BEARER x', 'mytoken abcdefghijklmnopqr', 'Token\tabcdefghijklmnopqrst',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abcdef', 'eyJ', 'key', 'Jane', 'Doe', 'Jane Doe', 'JANE', 'doe', "o'neil", 'Zoë', 'Ærø',
  'fetched https://www.nps.gov/cuva/learn/news/80821.htm in 576 ms', 'processed batch 271 of 571:', 'resized poi-12.jpg to 1200x800',
  '12.5', 'v1.2', '2024-05-01', '3.14159', '100%', 'a-b', '_x_', ' ', ' ', ' ', '. ', ', ', '\n', '\t', '\\', '\r', '(', ')', '+', '-', '.', ':', '7', '42', '1999',
]

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function randomText(r: () => number): string {
  let text = ''
  const n = 1 + Math.floor(r() * 6)
  for (let i = 0; i < n; i++) {
    const p = PIECES[Math.floor(r() * PIECES.length)]!
    // Sometimes only part of a piece: near misses at every boundary.
    text += r() < 0.25 ? p.slice(Math.floor(r() * p.length)) : p
  }
  return text
}

t.test('no field a detector changes is let through', async (t) => {
  const r = rng(17)
  let slow = 0
  let missed = 0
  for (let i = 0; i < 30_000; i++) {
    const text = randomText(r)
    const raw = Buffer.from(encodeField(text))
    const needs = mustDecode(raw, 0, raw.length, true, undefined)
    if (needs) slow++
    if (detect(text).hits !== undefined && !needs) {
      missed++
      if (missed <= 5) t.fail(`let through a field the detectors change: ${JSON.stringify(text)}`)
    }
  }
  t.equal(missed, 0, 'every changed field is sent to the slow path')
  t.ok(slow < 30_000, `some fields pass through (${slow} of 30000 decoded)`)
})

t.test('no field holding an indexed value is let through, and words seen first force a rescan', async (t) => {
  const r = rng(23)
  const index = new LeakIndex(k)
  for (const v of ['Jane Doe', 'jane.doe@mail.com', "O'Neil Smith", 'Zoë Ærø', '415 555 2671', '1999 Main']) index.add('public.users.name', 'name', v)
  const scanner = index.forRescan()
  let missed = 0
  for (let i = 0; i < 20_000; i++) {
    const text = randomText(r)
    const raw = Buffer.from(encodeField(text))
    const needs = mustDecode(raw, 0, raw.length, false, index)
    if (scanner.scan(decodeField(raw.toString())!).found && !needs) {
      missed++
      if (missed <= 5) t.fail(`let through a field holding an indexed value: ${JSON.stringify(text)}`)
    }
  }
  t.equal(missed, 0)

  // A word met in text (by the byte path) before the value it starts is indexed: the pass must be redone.
  const first = new LeakIndex(k, { trackSeen: true })
  const raw = Buffer.from('deleted 171 expired sessions for ROWAN in 3 ms')
  t.equal(mustDecode(raw, 0, raw.length, true, first), false, 'nothing indexed yet: passes through')
  first.add('public.users.name', 'name', 'Another Person')
  t.equal(first.needsRescan(), false, 'an unrelated value does not ask for a rescan')
  first.add('public.users.name', 'name', 'Rowan Quill')
  t.equal(first.needsRescan(), true, 'a value starting with a word already seen does')
})

t.test('the Bloom filter has no false negatives', async (t) => {
  const b = new WordBloom(16)
  for (let i = 0; i < 2000; i++) b.add(i * 7919, i * 104729 + 1)
  let ok = true
  for (let i = 0; i < 2000; i++) ok &&= b.has(i * 7919, i * 104729 + 1)
  t.ok(ok)
  t.ok(b.copy().has(7919, 104730), 'a copy keeps the bits')
})
