// Load a dump file by hand and watch it go:
//   npx tsx lib/loader/cli.ts --url postgres://postgres@127.0.0.1:5432/db [--parallel N] [--copy-buffer-mb N] FILE[.gz|.br]
// Ctrl-C cancels the load (connections are terminated; the database is left half-imported).
import { parseArgs } from 'node:util'
import { describeError } from '../errors.ts'
import { loadDump, openDumpFile, type LoadProgress } from './index.ts'

const { values, positionals } = parseArgs({
  options: { url: { type: 'string' }, parallel: { type: 'string' }, 'copy-buffer-mb': { type: 'string' } },
  allowPositionals: true,
})
const file = positionals[0]
if (!values.url || !file) {
  console.error('usage: npx tsx lib/loader/cli.ts --url postgres://USER@HOST:PORT/DB [--parallel N] [--copy-buffer-mb N] FILE')
  process.exit(2)
}

const abort = new AbortController()
process.once('SIGINT', () => abort.abort())

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
function show(p: LoadProgress): void {
  const input = p.compressedBytesTotal
    ? `${mb(p.compressedBytesRead ?? 0)}/${mb(p.compressedBytesTotal)} compressed, ${mb(p.bytesRead)} SQL`
    : p.bytesTotal
      ? `${mb(p.bytesRead)}/${mb(p.bytesTotal)}`
      : mb(p.bytesRead)
  console.error(
    `${(p.elapsedMs / 1000).toFixed(1)}s ${p.phase}: ${p.statements} statements, tables ${p.tablesDone}/${p.tablesSeen}, ${p.rows} rows, ${input}`,
  )
}

try {
  const result = await loadDump({
    connection: { connectionString: values.url },
    input: openDumpFile(file),
    parallel: values.parallel ? Number(values.parallel) : undefined,
    copyBufferBytes: values['copy-buffer-mb'] ? Number(values['copy-buffer-mb']) * 1024 * 1024 : undefined,
    onProgress: show,
    progressIntervalMs: 1000,
    signal: abort.signal,
  })
  console.log(JSON.stringify(result, null, 2))
} catch (err) {
  const { message, fix } = describeError(err)
  console.error(`error: ${message}`)
  if (fix) console.error(`fix: ${fix}`)
  process.exitCode = 1
}
