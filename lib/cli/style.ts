// Minimal ANSI colouring for the CLI's own lines; off when NO_COLOR is set or the stream is not a terminal.
const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const

export function paint(enabled: boolean, style: keyof typeof CODES, text: string): string {
  return enabled ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text
}
