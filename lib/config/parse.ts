// Turning one variable's string into its typed value, or a reason it is malformed and how to fix it.
import type { VariableSpec } from './variables.ts'

export type ParsedValue = string | number | boolean

export type ParseResult =
  | { ok: true; value: ParsedValue }
  | { ok: false; kind: 'malformed' | 'too-short'; message: string; fix: string }

export function parseValue(spec: VariableSpec, raw: string): ParseResult {
  const value = raw.trim()
  const shown = spec.secret ? '(value hidden)' : `"${raw}"`
  const bad = (expected: string, fix: string): ParseResult => ({ ok: false, kind: 'malformed', message: `is not ${expected}: ${shown}`, fix })
  switch (spec.kind) {
    case 'port': {
      const n = Number(value)
      return /^\d+$/.test(value) && n >= 1 && n <= 65535 ? { ok: true, value: n } : bad('a port number (1-65535)', `set ${spec.name} to a number such as ${spec.default ?? '8080'}`)
    }
    case 'integer':
      return /^\d+$/.test(value) ? { ok: true, value: Number(value) } : bad('a whole number', `set ${spec.name} to a number such as ${spec.default ?? '7'}`)
    case 'boolean': {
      const v = value.toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(v)) return { ok: true, value: true }
      if (['false', '0', 'no', 'off'].includes(v)) return { ok: true, value: false }
      return bad('true or false', `set ${spec.name} to true or false`)
    }
    case 'size': {
      const bytes = parseSize(value)
      return bytes !== undefined && bytes > 0 ? { ok: true, value: bytes } : bad('a size such as 512M or 2G', `set ${spec.name} to a size such as ${spec.default ?? '2G'}`)
    }
    case 'url': {
      const url = tryUrl(value)
      return url && /^https?:$/.test(url.protocol) ? { ok: true, value } : bad('an http(s) URL', `set ${spec.name} to a URL such as https://example.com`)
    }
    case 'postgres-url': {
      const url = tryUrl(value)
      return url && /^postgres(ql)?:$/.test(url.protocol) && url.hostname
        ? { ok: true, value }
        : bad('a postgres:// URL', `set ${spec.name} to postgres://USER:PASSWORD@HOST:PORT/DATABASE`)
    }
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? { ok: true, value } : bad('an e-mail address', `set ${spec.name} to an address such as admin@your-domain.org`)
    case 'host':
      return /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?)$/.test(value)
        ? { ok: true, value }
        : bad('a host name, IP address or ~/.ssh/config alias', `set ${spec.name} to a host such as server.example.org (no scheme, no port: use ${spec.name.replace(/HOST$/, 'PORT')})`)
    case 'name':
      // ssh, podman and pg_dump would read a leading '-' as an option (-oProxyCommand=...): a name is a word.
      // eslint-disable-next-line no-control-regex
      return /^[^\s\x00-\x1f-][^\x00-\x1f]*$/.test(value)
        ? { ok: true, value }
        : bad('a plain name (not starting with - or a space, no control characters)', `set ${spec.name} to a plain name such as ${spec.default ?? 'deploy'}`)
    case 'enum':
      return spec.values?.includes(value) ? { ok: true, value } : bad(`one of ${spec.values?.join(', ')}`, `set ${spec.name} to one of: ${spec.values?.join(', ')}`)
    case 'secret':
      if (spec.minLength && raw.length < spec.minLength) {
        return {
          ok: false,
          kind: 'too-short',
          message: `is too short: ${raw.length} characters, at least ${spec.minLength} needed`,
          // 32 random bytes, as every other hint says, whatever the minimum: more is never worse for a secret.
          fix: `generate one with: openssl rand -hex 32`,
        }
      }
      return { ok: true, value: raw }
    case 'path':
    case 'string':
      return { ok: true, value }
  }
}

/** "2G" -> 2147483648. Units are binary (K=1024), as tmpfs and podman read them. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim())
  if (!m) return undefined
  const power = ['', 'k', 'm', 'g', 't'].indexOf(m[2]!.toLowerCase())
  return Math.round(Number(m[1]) * 1024 ** power)
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let n = bytes
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`
}

function tryUrl(value: string): URL | undefined {
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}
