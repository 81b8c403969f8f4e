// How commands are shown: one shell-quoted line, as zx prints it, with every secret value replaced by
// ***; and --verbose, which prints each command as it starts. Secrets known to the whole run (the
// configuration's secret variables) are registered once; a call adds its own.
import { log as zxLog, quote } from 'zx/core'
import { SecretOnCommandLineError } from './errors.ts'

/** Shorter values are not treated as secrets: redacting "a" would mangle every line. */
const MIN_SECRET_LENGTH = 6

const registered = new Set<string>()
let verbose = false
let output: NodeJS.WritableStream | undefined

/** --verbose: print each command as it starts (to `to`, default stderr, so --json's stdout stays clean). */
export function setVerbose(on: boolean, to?: NodeJS.WritableStream): void {
  verbose = on
  output = to
}

export function isVerbose(): boolean {
  return verbose
}

/** Values that no command line and no verbose line may show, for the rest of this process. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const v of values) if (v && v.length >= MIN_SECRET_LENGTH) registered.add(v)
}

/** Every secret in force for a call: the registered ones and the call's own. */
export function secretsFor(own: readonly (string | undefined)[] = []): string[] {
  const all = new Set(registered)
  for (const v of own) if (v && v.length >= MIN_SECRET_LENGTH) all.add(v)
  // longest first, so a secret that contains another is replaced whole
  return [...all].sort((a, b) => b.length - a.length)
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***')
  return out
}

/** Refuses (before anything starts) an argv that carries a secret: `ps` shows argv to every user. */
export function assertNoSecretInArgs(command: string, args: readonly string[], secrets: readonly string[]): void {
  const leaked = [command, ...args].some((a) => secrets.some((s) => a.includes(s)))
  if (leaked) {
    throw new SecretOnCommandLineError(`refusing to run ${command}: a secret value is among its arguments, where \`ps\` would show it`, {
      fix: 'pass the secret in the command\'s environment (e.g. PGPASSWORD) instead of on its command line',
    })
  }
}

/** The command as one shell line, zx's quoting (what `bash -c` runs), secrets redacted. */
export function displayCommand(command: string, args: readonly string[], secrets: readonly string[]): string {
  return redact([command, ...args].map((a) => quote(a)).join(' '), secrets)
}

/** --verbose: the command, printed the way zx prints commands (`$ cmd args`). */
export function logCommand(display: string, cwd?: string): void {
  if (!verbose) return
  const previous = zxLog.output
  if (output) zxLog.output = output as NodeJS.WriteStream
  try {
    zxLog({ kind: 'cmd', cmd: display, cwd: cwd ?? process.cwd(), id: '', verbose: true })
  } finally {
    zxLog.output = previous
  }
}

/** zx's `log` option for task bodies' io.$: commands printed redacted under --verbose, nothing else. */
export function zxVerboseLog(entry: { kind: string; cmd?: string; cwd?: string }): void {
  if (entry.kind === 'cmd' && entry.cmd !== undefined) logCommand(redact(entry.cmd, secretsFor()), entry.cwd)
}
