// The CLI edge: parse the command line, load the configuration, run the tasks, and turn every outcome
// into an exit status and readable last lines (or --json). Errors become text here and nowhere else.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describeError } from '../errors.ts'
import { loadConfig, type LoadedConfig } from '../config/load.ts'
import { variableSpec } from '../config/variables.ts'
import { loadProject } from '../project/load.ts'
import { registerSecrets, setVerbose } from '../process/index.ts'
import { createRegistry } from '../tasks/graph.ts'
import { runTasks, type RendererKind, type RunReport } from '../tasks/run.ts'
import type { TaskDefinition } from '../tasks/types.ts'
import { parseCommandLine, UsageError, type ParsedCommandLine } from './args.ts'
import { renderHelp, renderTaskHelp } from './help.ts'
import { paint } from './style.ts'

/** Signals closer together than this are one keypress delivered twice. */
const REPEAT_SIGNAL_MS = 1_000

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const

export interface CliOptions {
  /** The project root: where .env, .env.example and package.json live. */
  root: string
  tasks: readonly TaskDefinition[]
  argv: readonly string[]
  /** One line about the project, heading --help. */
  about?: string
  env?: NodeJS.ProcessEnv
  stdout?: NodeJS.WriteStream
  stderr?: NodeJS.WriteStream
}

/** Runs the CLI and resolves to the exit status; never throws. */
export async function runCli(options: CliOptions): Promise<number> {
  const env = options.env ?? process.env
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  let parsed: ParsedCommandLine | undefined
  let json = options.argv.includes('--json')
  try {
    const registry = createRegistry(options.tasks)
    parsed = parseCommandLine(options.argv, registry)
    json = parsed.globals.json
    if (parsed.globals.noColor) env.NO_COLOR = '1'
    const color = !env.NO_COLOR && stdout.isTTY === true && !json
    const about = options.about ?? 'Task runner'
    if (parsed.globals.version) {
      stdout.write(`${readVersion(options.root)}\n`)
      return EXIT.ok
    }
    if (parsed.helpFor) {
      stdout.write(`${renderTaskHelp(registry.get(parsed.helpFor)!)}\n`)
      return EXIT.ok
    }
    if (parsed.globals.help || parsed.invocations.length === 0) {
      stdout.write(`${renderHelp(registry, about)}\n`)
      return parsed.globals.help ? EXIT.ok : EXIT.usage
    }

    const project = await loadProject(options.root)
    const loaded: LoadedConfig = loadConfig({ root: options.root, env, envFile: parsed.globals.envFile, project: project.definition })
    // No command line and no --verbose line may show a configured secret, whichever module runs it.
    registerSecrets(secretValues(loaded))
    // The commands go where the task output goes, so they read in order with it.
    setVerbose(parsed.globals.verbose, json ? stderr : stdout)
    const renderer: RendererKind =
      !json && stdout.isTTY === true && !isTruthy(env.CI) && !parsed.globals.verbose && env.TERM !== 'dumb' ? 'live' : 'plain'
    const controller = new AbortController()
    const interrupted = onInterrupt(controller, stderr)
    try {
      const report = await runTasks({
        registry,
        invocations: parsed.invocations,
        root: options.root,
        loaded,
        renderer,
        output: json ? stderr : stdout,
        signal: controller.signal,
        verbose: parsed.globals.verbose,
      })
      if (json) stdout.write(`${JSON.stringify(toJson(report), null, 2)}\n`)
      writeClosingLines(report, json ? stderr : stdout, color)
      if (report.cancelled) return EXIT.interrupted
      return report.ok ? EXIT.ok : EXIT.failed
    } finally {
      interrupted.dispose()
    }
  } catch (err) {
    const { message, fix, details } = describeError(err)
    const usage = err instanceof UsageError || (err instanceof Error && err.name === 'UnknownTaskError')
    if (json) {
      stdout.write(`${JSON.stringify({ ok: false, error: { message, fix, details, type: err instanceof Error ? err.name : 'Error' } }, null, 2)}\n`)
    }
    const color = !env.NO_COLOR && stderr.isTTY === true
    const detailLines = (details ?? []).map((d) => `  - ${d}\n`).join('')
    stderr.write(`${paint(color, 'red', `error: ${message}`)}\n${detailLines}${fix ? `  fix: ${fix}\n` : ''}`)
    return usage ? EXIT.usage : EXIT.failed
  }
}

function writeClosingLines(report: RunReport, out: NodeJS.WriteStream, color: boolean): void {
  // Warnings are not repeated here: each was printed once, in its task's output, when it happened.
  const lines: string[] = []
  const seconds = (report.durationMs / 1000).toFixed(1)
  if (report.ok) {
    // The last task's summary is already on its own ✔ line just above: the closing line only times the run.
    lines.push(paint(color, 'green', `done in ${seconds}s`))
  } else {
    const failed = report.tasks.find((t) => t.name === report.failed)
    if (report.cancelled) {
      lines.push(paint(color, 'red', `interrupted: task ${report.failed ?? '?'} was stopped and cleaned up (after ${seconds}s)`))
    } else {
      lines.push(paint(color, 'red', `failed: task ${failed?.name}: ${failed?.error?.message ?? 'unknown error'}`))
      for (const detail of failed?.error?.details ?? []) lines.push(`  - ${detail}`)
      if (failed?.error?.fix) lines.push(`  fix: ${failed.error.fix}`)
    }
    const skipped = report.tasks.filter((t) => t.status === 'not-run').map((t) => t.name)
    if (skipped.length) lines.push(`  not run: ${skipped.join(', ')}`)
  }
  out.write(`${lines.join('\n')}\n`)
}

function toJson(report: RunReport) {
  return {
    ok: report.ok,
    cancelled: report.cancelled,
    durationMs: report.durationMs,
    failed: report.failed ?? null,
    tasks: report.tasks.map((t) => ({
      name: t.name,
      status: t.status,
      durationMs: t.durationMs,
      summary: t.summary ?? null,
      warnings: t.warnings,
      result: t.data ?? null,
      error: t.error ?? null,
    })),
  }
}

/** First Ctrl-C (or SIGTERM): abort the run so the task stops and cleans up. Second: leave now. */
function onInterrupt(controller: AbortController, stderr: NodeJS.WriteStream): { dispose(): void } {
  let first = 0
  const handler = (signal: NodeJS.Signals) => {
    // A terminal's Ctrl-C reaches every process of the foreground group, and tsx also relays it to
    // this process: one keypress can arrive twice within milliseconds. Only a later one is "again".
    if (controller.signal.aborted && Date.now() - first < REPEAT_SIGNAL_MS) return
    if (controller.signal.aborted) {
      stderr.write(`\n${signal} again: exiting without waiting for cleanup\n`)
      process.exit(EXIT.interrupted)
    }
    stderr.write(`\n${signal}: stopping the running task and cleaning up (press Ctrl-C again to exit at once)\n`)
    first = Date.now()
    controller.abort(new Error(signal))
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  process.on('SIGHUP', handler)
  return {
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
      process.off('SIGHUP', handler)
    },
  }
}

/** The values of the secret variables that are set, and the password inside any database URL. */
function secretValues(loaded: LoadedConfig): string[] {
  const out: string[] = []
  for (const [name, { value }] of loaded.values) {
    if (!variableSpec(name, loaded.variables)?.secret) continue
    out.push(value)
    try {
      const password = new URL(value).password
      if (password) out.push(password, decodeURIComponent(password))
    } catch {}
  }
  return out
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

function readVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
