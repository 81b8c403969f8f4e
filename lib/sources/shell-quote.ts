// POSIX shell quoting for commands that run on the far side of ssh, where the arguments are joined into
// one string and parsed again by the remote user's shell.

/** Quotes one argument so a POSIX shell reads it back verbatim. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/** Quotes and joins an argv into one shell command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ')
}
