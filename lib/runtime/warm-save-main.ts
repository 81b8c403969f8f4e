// Entry point of the background warm-cluster save (see warm-save-process.ts):
//   node --import tsx lib/runtime/warm-save-main.ts '<PendingWarmSave as JSON>' GO_FILE
// It waits until GO_FILE exists (the app is up, or stop wants it to finish) before copying, so it does
// not compete with the app's boot for CPU and memory bandwidth; after GO_ANYWAY_MS it goes by itself.
// Exit 0 saved, 1 not saved (why is on stderr, which is the data home's logs/warm-save.log), 143 cancelled.
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeError } from '../errors.ts'
import { saveWarmCluster, type PendingWarmSave } from './database.ts'

const GO_ANYWAY_MS = 120_000
const save = JSON.parse(process.argv[2] ?? '{}') as PendingWarmSave
const goFile = process.argv[3] ?? ''
const abort = new AbortController()
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => abort.abort())
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} warm save ${save.key}: ${m}\n`)

async function main(): Promise<number> {
  const deadline = Date.now() + GO_ANYWAY_MS
  while (goFile && !existsSync(goFile) && Date.now() < deadline && !abort.signal.aborted) await sleep(20)
  await rm(goFile, { force: true })
  const started = Date.now()
  try {
    if (abort.signal.aborted) throw new Error('cancelled')
    const entry = await saveWarmCluster(save, abort.signal)
    log(`saved ${entry.files} files (${Math.round(entry.bytes / 1024 / 1024)} MB restored per start) in ${Date.now() - started} ms`)
    return 0
  } catch (err) {
    if (abort.signal.aborted) {
      // the stage is the caller's scratch space and goes with it; only the partial entry was ours
      log('cancelled')
      return 143
    }
    const e = describeError(err)
    log(`not saved: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`)
    return 1
  }
}

main().then((code) => process.exit(code))
