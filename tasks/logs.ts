import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { RotvError } from '../lib/errors.ts'
import { runtimeOfRunning } from '../lib/container/select-runtime.ts'
import { containerLogsCommand } from '../lib/runtime/container.ts'
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
  async run(ctx) {
    const opts = ctx.invocations.get('logs')?.options ?? {}
    const lines = Number(opts.lines ?? 50) || 50
    const follow = !opts['no-follow']
    // Logs are the user's to read, not task output to render: they go straight to the terminal.
    if (runtimeOfRunning(ctx.loaded.config) === 'container') {
      // The container's output (the entrypoint's steps and the app), and PostgreSQL's log, which the
      // container writes into the data home (logs/container/), as the host runtime's logs/postgres.log.
      const cmd = await containerLogsCommand(ctx.loaded.config.dataHome, { lines, follow })
      const pgLog = cmd.postgresLog && existsSync(cmd.postgresLog) ? cmd.postgresLog : undefined
      const tailPg = () => (pgLog ? streamTo('tail', ['-n', String(lines), ...(follow ? ['-F'] : []), pgLog], ctx.signal) : Promise.resolve(0))
      // following: both at once, until Ctrl-C; else one after the other, so the two do not interleave
      const [code, pgCode] = follow ? await Promise.all([streamTo(cmd.engine, cmd.args, ctx.signal), tailPg()]) : [await streamTo(cmd.engine, cmd.args, ctx.signal), await tailPg()]
      if (!follow && code !== 0) throw new RotvError(`${cmd.engine} logs exited with ${code}`, { fix: 'npx tsx Taskfile.ts status' })
      if (!follow && pgCode !== 0) throw new RotvError(`tail ${pgLog} exited with ${pgCode}`)
      return { summary: follow ? 'stopped' : `container output${pgLog ? ' and PostgreSQL\'s log' : ''}`, endedByInterrupt: follow }
    }
    const state = await readState(ctx.loaded.config.dataHome)
    if (!state) throw new RotvError('no environment has been started', { fix: 'run `npx tsx Taskfile.ts start`' })
    const files = [state.logs.app, state.logs.postgres].filter((f) => existsSync(f))
    const code = await streamTo('tail', ['-n', String(lines), ...(follow ? ['-F'] : []), ...files], ctx.signal)
    if (!follow && code !== 0) throw new RotvError(`tail exited with ${code}`)
    return { summary: follow ? 'stopped' : `${files.length} log files`, endedByInterrupt: follow }
  },
})

/** Run a command with its output on this terminal (zx's quiet mode would swallow it); Ctrl-C ends it. */
function streamTo(command: string, args: string[], signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], signal })
    child.once('error', (err) => (err.name === 'AbortError' ? resolve(130) : reject(err)))
    child.once('close', (code) => resolve(code ?? 130))
  })
}
