// The typed errors of child processes: what ran, how it ended, the last lines it printed, and the fix.
import { RotvError } from '../errors.ts'
import { redact, secretsFor } from './display.ts'
import type { ProcessResult } from './types.ts'

/** A command failed (non-zero exit, killed, not found). Carries the whole result for callers that need it. */
export class ProcessError extends RotvError {
  readonly result: ProcessResult

  constructor(result: ProcessResult, options: { message?: string; fix?: string; cause?: unknown; secrets?: readonly string[] } = {}) {
    // a command's own output can echo a secret it was given in its environment
    const secrets = secretsFor(options.secrets)
    super(redact(options.message ?? describeFailure(result), secrets), { fix: options.fix ?? defaultFix(result), cause: options.cause })
    this.result = result
  }
}

/** A secret value was about to be put on a command line, where `ps` would show it to every user. */
export class SecretOnCommandLineError extends RotvError {}

/** One line saying how `result` failed, with the last lines it printed. */
export function describeFailure(result: ProcessResult, lines = 5): string {
  const how = result.spawnError === 'ENOENT'
    ? 'not found'
    : result.spawnError === 'EACCES'
      ? 'not executable (permission denied)'
      : result.timedOut
        ? 'timed out'
        : result.signal
          ? `was killed by ${result.signal}`
          : `exited with ${result.exitCode}`
  const output = result.spawnError ? '' : tail(`${result.stderr}\n${result.stdout}`, lines)
  return `\`${result.command}\` ${how}${output ? `: ${output}` : ''}`
}

/** The last `lines` non-empty lines of `text`, joined by newlines. */
export function tail(text: string, lines = 8): string {
  return text.trim().split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-lines).join('\n')
}

function defaultFix(result: ProcessResult): string {
  const program = result.command.split(' ')[0] ?? result.command
  if (result.spawnError === 'ENOENT') return `install ${program}, or put it on PATH`
  if (result.spawnError === 'EACCES') return `make ${program} executable for the user that runs it`
  return `run \`${result.command}\` by hand to see its whole output`
}
