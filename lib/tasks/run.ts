// Running a planned set of tasks through listr2: once each, in order, stopping at the first failure,
// sharing one context, and producing a report that the CLI turns into text or --json.
import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2'
// zx/core, not zx: under tap's loader on Node 22/24 the package root's $ re-export arrives undefined.
import { $ as zx } from 'zx/core'
import { CancelledError, describeError } from '../errors.ts'
import { assertNoSecretInArgs, secretsFor, zxVerboseLog } from '../process/display.ts'
import type { LoadedConfig } from '../config/load.ts'
import { planRun, type TaskRegistry } from './graph.ts'
import type { ShellFn, TaskContext, TaskInvocation, TaskIO, TaskOutcome } from './types.ts'

/** Plain output is a log: progress lines every few seconds, not every tick. */
const PLAIN_PROGRESS_INTERVAL_MS = 3_000

export type RendererKind = 'live' | 'plain' | 'silent'

export interface RunOptions {
  registry: TaskRegistry
  invocations: readonly TaskInvocation[]
  root: string
  loaded: LoadedConfig
  renderer: RendererKind
  /** Where the renderer writes: stdout normally, stderr when stdout carries --json. */
  output: NodeJS.WriteStream
  signal: AbortSignal
  /** Show the shell commands tasks run (zx verbose). */
  verbose?: boolean
}

export type TaskStatus = 'succeeded' | 'failed' | 'cancelled' | 'not-run'

export interface TaskReport {
  name: string
  status: TaskStatus
  durationMs: number
  summary?: string
  data?: unknown
  warnings: string[]
  error?: { message: string; fix?: string; details?: readonly string[]; type: string }
}

export interface RunReport {
  ok: boolean
  cancelled: boolean
  durationMs: number
  tasks: TaskReport[]
  /** The task that failed, if one did. */
  failed?: string
}

export async function runTasks(options: RunOptions): Promise<RunReport> {
  const started = Date.now()
  const plan = planRun(options.registry, options.invocations.map((i) => i.task))
  const ctx: TaskContext = {
    root: options.root,
    loaded: options.loaded,
    invocations: new Map(options.invocations.map((i) => [i.task, i])),
    plan,
    results: new Map(),
    signal: options.signal,
    state: {},
  }
  const reports = new Map<string, TaskReport>(
    plan.map((name) => [name, { name, status: 'not-run', durationMs: 0, warnings: [] }]),
  )

  const tasks: ListrTask<TaskContext>[] = plan.map((name) => {
    const def = options.registry.get(name)!
    const report = reports.get(name)!
    return {
      title: name,
      rendererOptions: { persistentOutput: true, outputBar: Infinity },
      task: async (_ctx, listrTask) => {
        const taskStarted = Date.now()
        const cleanups: (() => Promise<void> | void)[] = []
        const lines: string[] = []
        // Cleanup must still be able to run commands (stop a server) after the run was aborted.
        let cleaningUp = false
        // Plain output: the first progress line after one interval, not at the first tick (a pull's
        // first tick said "1 KB of SQL" just before "4.0 MB of SQL stored"); short work shows none.
        let lastProgress = taskStarted
        const bound = shellFor(options, options.signal)
        const unbound = shellFor(options)
        const io: TaskIO = {
          log: (message) => {
            lines.push(message)
            listrTask.output = message
          },
          progress: (message) => {
            // Live: progress replaces the title in place, so a long import does not fill the screen.
            if (options.renderer === 'live') {
              listrTask.title = `${name}: ${message}`
              return
            }
            const now = Date.now()
            if (now - lastProgress >= PLAIN_PROGRESS_INTERVAL_MS) {
              lastProgress = now
              listrTask.output = message
            }
          },
          warn: (message) => {
            report.warnings.push(message)
            lines.push(`warning: ${message}`)
            // Printed once, here, when it happens (a follow mode may never reach the closing lines),
            // named by its task so it reads on its own; --json carries it in the report too.
            listrTask.output = `warning: ${name}: ${message}`
          },
          setTitle: (title) => {
            listrTask.title = `${name}: ${title}`
          },
          onCleanup: (fn) => cleanups.push(fn),
          $: ((pieces: TemplateStringsArray, ...args: unknown[]) => (cleaningUp ? unbound : bound)(pieces, ...args)) as ShellFn,
        }
        try {
          if (options.signal.aborted) throw new CancelledError('interrupted')
          const outcome: TaskOutcome = (await def.run(ctx, io)) ?? {}
          if (options.signal.aborted && !outcome.endedByInterrupt) throw new CancelledError('interrupted')
          ctx.results.set(name, outcome)
          report.status = 'succeeded'
          report.summary = outcome.summary
          report.data = outcome.data
          listrTask.title = outcome.summary ? `${name}: ${outcome.summary}` : name
        } catch (err) {
          const cancelled = options.signal.aborted
          report.status = cancelled ? 'cancelled' : 'failed'
          const { message, fix, details } = cancelled ? { message: 'interrupted', fix: undefined, details: undefined } : describeError(err)
          report.error = { message, fix, details, type: err instanceof Error ? err.name : typeof err }
          // A failure can still carry a structured result (validate-schema's drift report) for --json.
          const data = (err as { data?: unknown } | undefined)?.data
          if (data !== undefined) report.data = data
          cleaningUp = true
          await runCleanups(cleanups, io)
          throw cancelled ? new CancelledError(`${name}: interrupted`) : err
        } finally {
          report.durationMs = Date.now() - taskStarted
        }
      },
    }
  })

  const list = new Listr<TaskContext>(tasks, {
    ctx,
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    collectErrors: false,
    // listr2 types the renderer as a generic parameter; the choice is made at run time here.
    renderer: (options.renderer === 'live' ? 'default' : options.renderer === 'plain' ? 'simple' : 'silent') as 'default',
    fallbackRenderer: 'simple',
    rendererOptions: {
      logger: new ListrLogger({ processOutput: new ProcessOutput(options.output, process.stderr) }),
      collapseSubtasks: false,
    },
    fallbackRendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(options.output, process.stderr) }) },
  })
  let runnerError: unknown
  try {
    await list.run()
  } catch (err) {
    // A task failure is already in its report; anything else is the runner's own failure.
    runnerError = err
  }
  const all = [...reports.values()]
  let failed = all.find((r) => r.status === 'failed' || r.status === 'cancelled')
  if (!failed && (runnerError !== undefined || all.some((r) => r.status === 'not-run'))) {
    failed = all.find((r) => r.status === 'not-run') ?? all[0]
    if (failed) {
      const { message, fix } = describeError(runnerError ?? new Error('the task list stopped before this task ran'))
      failed.status = 'failed'
      failed.error = { message: `the task runner failed: ${message}`, fix, type: runnerError instanceof Error ? runnerError.name : 'Error' }
    }
  }
  return {
    ok: !failed,
    // A follow mode left with Ctrl-C ended normally; only a task stopped part-way is a cancelled run.
    cancelled: all.some((r) => r.status === 'cancelled'),
    durationMs: Date.now() - started,
    tasks: all,
    failed: failed?.name,
  }
}

function shellFor(options: RunOptions, signal?: AbortSignal): ShellFn {
  // detached: each command in its own process group, which zx stops as a whole on abort; --verbose
  // prints the commands through lib/process, redacted, and not their output (the task reports that).
  const bound = zx({ ...(signal ? { signal } : {}), quiet: true, verbose: options.verbose ?? false, detached: true, log: zxVerboseLog as never, cwd: options.root })
  return ((pieces: TemplateStringsArray, ...args: unknown[]) => {
    assertNoSecretInArgs('a task\'s shell command', args.flat().map(String), secretsFor())
    return bound(pieces, ...(args as never[]))
  }) as ShellFn
}

async function runCleanups(cleanups: (() => Promise<void> | void)[], io: TaskIO): Promise<void> {
  for (const fn of cleanups.reverse()) {
    try {
      await fn()
    } catch (err) {
      io.log(`cleanup failed: ${describeError(err).message}`)
    }
  }
}
