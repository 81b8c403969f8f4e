// Run inside the container by `reset` (podman exec ... node --import tsx lib/container/reset-inside.ts):
// put the pristine template back over the app's database, exactly as the host runtime's reset does.
// Prints one JSON line for the runner.
import { readFileSync } from 'node:fs'
import { cloneDatabaseFromTemplate, serverConnection } from '../postgres/index.ts'
import { CONTAINER_PATHS, type ContainerRunState } from './paths.ts'

const state = JSON.parse(readFileSync(CONTAINER_PATHS.runState, 'utf8')) as ContainerRunState
if (state.mode !== 'dev' || !state.pristineDb) {
  process.stderr.write('reset is for the throwaway dev database; this container keeps persistent data\n')
  process.exit(1)
}
const started = Date.now()
await cloneDatabaseFromTemplate(serverConnection({ port: state.pgPort }), { template: state.pristineDb, target: state.dbName })
process.stdout.write(`${JSON.stringify({ durationMs: Date.now() - started, dbName: state.dbName })}\n`)
