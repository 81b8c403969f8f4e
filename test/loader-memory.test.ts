// The loader streams: a dump much larger than its buffers loads with bounded memory. The dump is
// generated on the fly (never held whole by the test either) and Buffer memory is sampled as it loads.
import { Readable } from 'node:stream'
import t from 'tap'
import { loadDump } from '../lib/loader/index.ts'
import { startProductionPostgres } from './helpers/production-postgres.ts'

const ROWS = 1_500_000
const MB = 1024 * 1024

function* syntheticDump(): Generator<Buffer> {
  yield Buffer.from(
    "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n" +
      'CREATE TABLE public.big (id integer, payload text);\n\nCOPY public.big (id, payload) FROM stdin;\n',
  )
  const filler = 'x'.repeat(180)
  let batch: string[] = []
  for (let i = 1; i <= ROWS; i++) {
    batch.push(`${i}\t${filler}\\t${i}\n`)
    if (batch.length === 300) {
      yield Buffer.from(batch.join(''))
      batch = []
    }
  }
  yield Buffer.from(`${batch.join('')}\\.\n\nALTER TABLE ONLY public.big ADD CONSTRAINT big_pkey PRIMARY KEY (id);\n\n--\n-- PostgreSQL database dump complete\n--\n`)
}

t.test('a ~290 MB dump loads with bounded memory', async (t) => {
  const pg = await startProductionPostgres({ databases: ['big'] })
  t.teardown(() => pg.stop())
  const before = process.memoryUsage().arrayBuffers
  let peak = 0
  const result = await loadDump({
    connection: { connectionString: pg.url('big') },
    input: Readable.from(syntheticDump(), { objectMode: false, highWaterMark: 4 }),
    parallel: 2,
    copyBufferBytes: 16 * MB,
    progressIntervalMs: 0,
    onProgress: () => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)
    },
  })
  t.equal(result.rows['public.big'], ROWS)
  t.ok(result.bytes > 280 * MB, `input was ${(result.bytes / MB).toFixed(0)} MB`)
  t.ok(peak < 128 * MB, `peak Buffer memory ${(peak / MB).toFixed(0)} MB stays far below the input size`)
  const { stdout } = await pg.psql('big', ['-At', '-c', "SELECT count(*), sum(length(payload)) FROM public.big WHERE payload LIKE '%\t%'"])
  t.equal(stdout.trim(), `${ROWS}|${ROWS * 181 + sumOfDigits(ROWS)}`, 'every row arrived intact, escapes decoded')
})

/** Total number of decimal digits in 1..n. */
function sumOfDigits(n: number): number {
  let total = 0
  for (let d = 1, lo = 1; lo <= n; d++, lo *= 10) total += (Math.min(n, lo * 10 - 1) - lo + 1) * d
  return total
}
