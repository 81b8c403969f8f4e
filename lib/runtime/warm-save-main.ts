// Entry point of the background warm-cluster save (see warm-save-process.ts):
//   node --import tsx lib/runtime/warm-save-main.ts '<PendingWarmSave as JSON>'
// Exit 0 saved, 1 not saved (why is on stderr, which is the data home's logs/warm-save.log), 143 cancelled.
import { describeError } from '../errors.ts'
import { saveWarmCluster, type PendingWarmSave } from './database.ts'

const save = JSON.parse(process.argv[2] ?? '{}') as PendingWarmSave
const abort = new AbortController()
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => abort.abort())
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} warm save ${save.key}: ${m}\n`)

const started = Date.now()
saveWarmCluster(save, abort.signal).then(
  (entry) => {
    log(`saved ${entry.files} files (${Math.round(entry.bytes / 1024 / 1024)} MB restored per start) in ${Date.now() - started} ms`)
    process.exit(0)
  },
  (err: unknown) => {
    if (abort.signal.aborted) {
      log('cancelled')
      process.exit(143)
    }
    const e = describeError(err)
    log(`not saved: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`)
    process.exit(1)
  },
)
