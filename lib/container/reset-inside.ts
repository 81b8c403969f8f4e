// Run inside the container by `reset` (podman exec ... node --import tsx lib/container/reset-inside.ts):
// put the pristine template back over the app's database, exactly as the host runtime's reset does
// (the spare copy swapped in, the next one made by a background process). Prints one JSON line for the runner.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { resetToPristine } from '../runtime/spare.ts'
import { CONTAINER_PATHS, type ContainerRunState } from './paths.ts'

const read = () => JSON.parse(readFileSync(CONTAINER_PATHS.runState, 'utf8')) as ContainerRunState
let state = read()
if (state.mode !== 'dev') {
  process.stderr.write('reset is for the throwaway dev database; this container keeps persistent data\n')
  process.exit(1)
}
// right after a warm start the pristine template may still be on its way in (about a second)
for (const deadline = Date.now() + 60_000; state.pristinePending && !state.pristineDb && Date.now() < deadline; state = read()) await sleep(50)
if (!state.pristineDb) {
  process.stderr.write(`no pristine template to reset from${state.pristineError ? ` (${state.pristineError})` : ''}; stop and start again for a clean slate\n`)
  process.exit(1)
}
const job = { port: state.pgPort, dbName: state.dbName, pristineDb: state.pristineDb, pgdata: state.pgdata ?? CONTAINER_PATHS.pgdataMount, limitBytes: state.limitBytes }
const r = await resetToPristine(job, CONTAINER_PATHS.spareLog)
process.stdout.write(`${JSON.stringify({ durationMs: r.durationMs, dbName: state.dbName, via: r.via })}\n`)
// the spare copy's process lives on (detached); leave without waiting for it
process.exit(0)
