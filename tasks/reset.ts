import { resetHost } from '../lib/runtime/host.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { seconds } from './format.ts'

export default defineTask({
  name: 'reset',
  description: 'Put the pristine snapshot data back without restarting the app (dev mode)',
  examples: ['npx tsx Taskfile.ts reset'],
  async run(ctx) {
    const result = await resetHost(ctx.loaded.config.dataHome)
    return { summary: `${result.dbName} is back to the snapshot (${seconds(result.durationMs)})`, data: result }
  },
})
