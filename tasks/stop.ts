import { runtimeOfRunning } from '../lib/container/select-runtime.ts'
import { stopContainer } from '../lib/runtime/container.ts'
import { stopHost } from '../lib/runtime/host.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'stop',
  description: 'Stop the app and PostgreSQL; in dev mode the in-memory data is thrown away',
  examples: ['npx tsx Taskfile.ts stop', 'npx tsx Taskfile.ts stop start   # restart on a clean slate'],
  async run(ctx, io) {
    const config = ctx.loaded.config
    if (runtimeOfRunning(config) === 'container') {
      const result = await stopContainer(config.dataHome)
      if (!result.wasRunning && !result.mode) return { summary: 'nothing was running', data: result }
      return { summary: result.mode === 'dev' ? 'container stopped; in-memory data discarded' : 'container stopped; data kept', data: result }
    }
    const result = await stopHost(config.dataHome)
    if (result.interrupted) io.log(result.interrupted)
    if (!result.wasRunning && !result.discarded) return { summary: 'nothing was running', data: result }
    return { summary: result.mode === 'dev' ? 'stopped; in-memory data discarded' : 'stopped; data kept', data: result }
  },
})
