import { existsSync } from 'node:fs'
import { RotvError } from '../lib/errors.ts'
import { readState } from '../lib/runtime/state.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'logs',
  description: 'Show the app and PostgreSQL logs, and follow them (Ctrl-C to stop)',
  options: [
    { name: 'no-follow', type: 'flag', description: 'print the last lines and exit' },
    { name: 'lines', type: 'string', description: 'how many lines to show first (default 50)' },
  ],
  examples: ['npx tsx Taskfile.ts logs', 'npx tsx Taskfile.ts logs --no-follow --lines 200'],
  async run(ctx, io) {
    const state = await readState(ctx.loaded.config.dataHome)
    if (!state) throw new RotvError('no environment has been started', { fix: 'run `npx tsx Taskfile.ts start`' })
    const files = [state.logs.app, state.logs.postgres].filter((f) => existsSync(f))
    const opts = ctx.invocations.get('logs')?.options ?? {}
    const lines = String(Number(opts.lines ?? 50) || 50)
    const follow = !opts['no-follow']
    // tail writes straight to the terminal: logs are the user's to read, not task output to render.
    const tail = io.$`tail -n ${lines} ${follow ? ['-F'] : []} ${files}`.stdio('ignore', 'inherit', 'inherit')
    if (follow) await tail.catch(() => {})
    else await tail
    return { summary: follow ? 'stopped following' : `${files.length} log files` }
  },
})
