// A pull's second consumer (the loader into a fresh cluster, in the seed pipeline): it gets the same
// plain SQL that is stored, paces the pull when it is slower (bounded buffering), its failure still
// commits the snapshot, and a failed pull never hands it a cut-off dump as a whole one.
import t from 'tap'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, truncate, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { generateDemoDump } from '../lib/demo/generate.ts'
import { openStore } from '../lib/snapshots/index.ts'

let work: string
let dump: string
t.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rotv-consumer-'))
  dump = join(work, 'demo.sql')
  await pipeline(generateDemoDump({ size: 24 * 1024 * 1024 }), createWriteStream(dump))
})
t.teardown(() => rm(work, { recursive: true, force: true }))

const spec = (file: string) => ({ name: 'file', kind: 'file' as const, file })

async function collect(sql: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of sql) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

t.test('the consumer reads the stored SQL byte for byte; a slow one paces the pull', async (t) => {
  const store = openStore(join(work, 'home-a'))
  let got: Promise<Buffer> | undefined
  let plainSeen = 0
  let read = 0
  let maxLead = 0
  const m = await store.pull(spec(dump), {
    as: 'a',
    onProgress: (p) => (plainSeen = p.dumpBytes),
    consumer: (sql) => (got = (async () => {
      const parts: Buffer[] = []
      for await (const c of sql) {
        parts.push(c as Buffer)
        read += (c as Buffer).length
        maxLead = Math.max(maxLead, plainSeen - read)
        await new Promise((r) => setTimeout(r, 8)) // slower than the compressor
      }
      return Buffer.concat(parts)
    })()),
  })
  t.ok((await got!).equals(await readFile(dump)), 'the consumer got the dump, byte for byte')
  const opened = await store.openForImport('a')
  t.ok((await collect(opened.stream)).equals(await readFile(dump)), 'and so does the stored snapshot')
  // The reader lags by at most the tee's bounded buffers, never by most of the dump.
  t.ok(maxLead < 12 * 1024 * 1024, `the pull ran at most ${(maxLead / 1048576).toFixed(1)} MiB ahead of the consumer (dump ${(m.uncompressedBytes / 1048576).toFixed(0)} MiB)`)
})

t.test('a consumer that fails half-way: the snapshot is still committed, the failure is the consumer\'s', async (t) => {
  const store = openStore(join(work, 'home-b'))
  let outcome: Promise<unknown> | undefined
  const m = await store.pull(spec(dump), {
    as: 'b',
    consumer: (sql) => (outcome = (async () => {
      let n = 0
      for await (const c of sql) {
        n += (c as Buffer).length
        if (n > 2 * 1024 * 1024) throw new Error('the server rejected a statement')
      }
    })()),
  })
  await t.rejects(outcome!, /the server rejected a statement/)
  t.equal(m.uncompressedBytes, (await stat(dump)).size, 'the whole dump was stored')
  t.equal((await store.verify('b')).sha256, m.sha256)
})

t.test('a failed pull errors the consumer\'s input and keeps the previous snapshot', async (t) => {
  const store = openStore(join(work, 'home-c'))
  const first = await store.pull(spec(dump), { as: 'c' })
  const cut = join(work, 'cut.sql')
  await pipeline(generateDemoDump({ size: 24 * 1024 * 1024 }), createWriteStream(cut))
  await truncate(cut, 5 * 1024 * 1024)
  let input: Promise<Buffer> | undefined
  await t.rejects(store.pull(spec(cut), { as: 'c', consumer: (sql) => (input = collect(sql)) }), { name: 'TruncatedDumpError' })
  // The file ends cleanly at 5 MiB: only the missing trailer tells it is cut, and the consumer hears it.
  await t.rejects(input!, { name: 'TruncatedDumpError', message: /without the .* trailer/ }, 'the consumer\'s input errors, it does not just end')
  t.equal((await store.verify('c')).sha256, first.sha256, 'previous snapshot intact')
})
