import { runtimeOfRunning } from '../lib/container/select-runtime.ts'
import { resetContainer } from '../lib/runtime/container.ts'
import { resetHost } from '../lib/runtime/host.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { seconds } from './format.ts'

export default defineTask({
  name: 'reset',
  description: 'Put the pristine snapshot data back without restarting the app (dev mode)',
  examples: ['npx tsx Taskfile.ts reset'],
  async run(ctx) {
    const home = ctx.loaded.config.dataHome
    const result = runtimeOfRunning(ctx.loaded.config) === 'container' ? await resetContainer(home) : await resetHost(home)
    // 'copy': there was no spare copy to swap in (no room for one, see logs/spare.log)
    const how = result.via === 'copy' ? ', copied while you waited: no spare copy was ready' : ''
    return { summary: `${result.dbName} is back to the snapshot (${seconds(result.durationMs)}${how})`, data: result }
  },
})
