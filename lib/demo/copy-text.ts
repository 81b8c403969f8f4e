// Values in PostgreSQL's COPY text format, as pg_dump writes them: \N for NULL, backslash escapes for
// backslash and control characters, timestamps the way the server prints them with TimeZone=UTC.

export type CopyValue = string | number | boolean | null | undefined

/** One COPY text row, newline-terminated. */
export function copyRow(values: readonly CopyValue[]): string {
  let line = ''
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t'
    line += copyValue(values[i])
  }
  return line + '\n'
}

export function copyValue(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N'
  if (typeof v === 'boolean') return v ? 't' : 'f'
  if (typeof v === 'number') return String(v)
  return NEEDS_ESCAPE.test(v) ? v.replace(ESCAPABLE, (c) => ESCAPES[c] ?? c) : v
}

const NEEDS_ESCAPE = /[\\\n\r\t\b\f\v]/
const ESCAPABLE = /[\\\n\r\t\b\f\v]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' }

const DAY_MS = 86_400_000
const dayCache = new Map<number, string>()

/** `timestamp with time zone` as printed in UTC: `2026-05-01 09:30:00.25+00`. */
export function timestamptz(ms: number): string {
  return timestamp(ms) + '+00'
}

/** `timestamp without time zone`: `2026-05-01 09:30:00.25` (trailing fraction zeros dropped). */
export function timestamp(ms: number): string {
  const day = Math.floor(ms / DAY_MS)
  let date = dayCache.get(day)
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10)
    dayCache.set(day, date)
  }
  let rest = ms - day * DAY_MS
  const h = Math.floor(rest / 3_600_000)
  rest -= h * 3_600_000
  const m = Math.floor(rest / 60_000)
  rest -= m * 60_000
  const s = Math.floor(rest / 1000)
  const frac = Math.round(rest - s * 1000)
  let out = `${date} ${pad2(h)}:${pad2(m)}:${pad2(s)}`
  if (frac > 0) out += '.' + String(frac).padStart(3, '0').replace(/0+$/, '')
  return out
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n)
}
