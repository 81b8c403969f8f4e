// The shape of a task module. A task declares what it is (name, description, arguments), what must run
// before it (dependsOn), and its body. The runner resolves and orders the graph; the body only does work.
import type { ProcessPromise } from 'zx/core'
import type { LoadedConfig } from '../config/load.ts'

export interface TaskArgument {
  name: string
  description: string
  required?: boolean
  /** Accepts any number of values (must be the last argument). */
  variadic?: boolean
}

export interface TaskOption {
  /** Long name without dashes: `as` for `--as NAME`. */
  name: string
  description: string
  /** A flag takes no value; a string option takes the next word or `--name=value`. */
  type: 'flag' | 'string'
}

export interface TaskDefinition {
  name: string
  /** One line, shown by --help. */
  description: string
  /** Tasks that must have succeeded, in this invocation, before this one runs. */
  dependsOn?: readonly string[]
  args?: readonly TaskArgument[]
  options?: readonly TaskOption[]
  /** Longer help and examples, shown by `<task> --help`. */
  examples?: readonly string[]
  run(ctx: TaskContext, io: TaskIO): Promise<TaskOutcome | void>
}

export interface TaskOutcome {
  /** A one-line summary of what the task did, shown in its title and in --json. */
  summary?: string
  /** Structured result for --json consumers and for later tasks (ctx.results). */
  data?: unknown
  /**
   * The task ends when the user presses Ctrl-C (`logs`, `start --foreground`): the interrupt is its
   * normal end, so the task counts as succeeded ("stopped"), not as interrupted.
   */
  endedByInterrupt?: boolean
}

/** Parsed command line for the task that was asked for by name. */
export interface TaskInvocation {
  task: string
  args: Record<string, string | string[] | undefined>
  options: Record<string, string | boolean | undefined>
}

/** Shared by every task of one invocation. */
export interface TaskContext {
  /** The repository root (where Taskfile.ts is). */
  root: string
  /** Configuration: defaults < .env file < process environment. Checked by validate-env. */
  loaded: LoadedConfig
  /** What the user asked for, by task name; dependencies have no entry. */
  invocations: ReadonlyMap<string, TaskInvocation>
  /** Every task of this run in execution order, dependencies included. */
  plan: readonly string[]
  /** Outcomes of tasks that already ran in this invocation. */
  results: Map<string, TaskOutcome>
  /** Aborted on Ctrl-C / SIGTERM: pass it to everything that waits. */
  signal: AbortSignal
  /** Free-form shared state between tasks (typed by the task modules that use it). */
  state: Record<string, unknown>
}

/** What a task body can do besides its work: report, and register cleanup. */
export interface TaskIO {
  /** A line of progress or information (live renderer: under the task; plain renderer: a log line). */
  log(message: string): void
  /** Transient progress (bytes, rows): shown live on a terminal, at most every few seconds in plain output. */
  progress(message: string): void
  /** A warning: shown prominently and collected into the run summary. */
  warn(message: string): void
  /** Replace the task's title (e.g. to show progress). */
  setTitle(title: string): void
  /** Runs when the task is interrupted or fails, newest first, before the process exits. */
  onCleanup(fn: () => Promise<void> | void): void
  /** zx's $, bound to this run's abort signal: interrupted runs kill their child processes. */
  $: ShellFn
}

export type ShellFn = (pieces: TemplateStringsArray, ...args: unknown[]) => ProcessPromise

export function defineTask(def: TaskDefinition): TaskDefinition {
  return def
}
