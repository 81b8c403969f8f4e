// PostgreSQL's COPY text format, the part an anonymizer needs: the `COPY table (cols) FROM stdin;` header
// of a plain pg_dump, and one field of a data row (\N for NULL, backslash escapes). Rows are split on
// raw tab and newline bytes, which COPY always escapes inside values, so a row is one line.

export interface CopyHeader {
  schema: string
  table: string
  /** Column names in row order, unquoted. Empty when the statement names none. */
  columns: string[]
}

/** Parses `COPY schema.table (col, "Col 2") FROM stdin;`; undefined when the line is not one. */
export function parseCopyHeader(line: string): CopyHeader | undefined {
  if (!line.startsWith('COPY ')) return undefined
  let i = 5
  const names: string[] = []
  // qualified name: ident(.ident)*
  for (;;) {
    const r = readIdent(line, i)
    if (!r) return undefined
    names.push(r.name)
    i = r.end
    if (line[i] === '.') {
      i++
      continue
    }
    break
  }
  const columns: string[] = []
  i = skipSpaces(line, i)
  if (line[i] === '(') {
    i++
    for (;;) {
      i = skipSpaces(line, i)
      const r = readIdent(line, i)
      if (!r) return undefined
      columns.push(r.name)
      i = skipSpaces(line, r.end)
      if (line[i] === ',') {
        i++
        continue
      }
      if (line[i] === ')') {
        i++
        break
      }
      return undefined
    }
  }
  if (!/^\s*FROM\s+stdin\s*;\s*$/i.test(line.slice(i))) return undefined
  const table = names[names.length - 1]!
  const schema = names.length > 1 ? names[names.length - 2]! : 'public'
  return { schema, table, columns }
}

function skipSpaces(s: string, i: number): number {
  while (s[i] === ' ' || s[i] === '\t') i++
  return i
}

function readIdent(s: string, i: number): { name: string; end: number } | undefined {
  if (s[i] === '"') {
    let name = ''
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === '"') {
        if (s[j + 1] === '"') {
          name += '"'
          j++
          continue
        }
        return { name, end: j + 1 }
      }
      name += s[j]
    }
    return undefined
  }
  const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(s.slice(i))
  if (!m) return undefined
  // Unquoted identifiers fold to lower case, as PostgreSQL folds them.
  return { name: m[0].toLowerCase(), end: i + m[0].length }
}

/** One COPY text field to its value: `\N` is NULL, escapes are undone. */
export function decodeField(field: string): string | null {
  if (field === '\\N') return null
  if (field.indexOf('\\') === -1) return field
  let out = ''
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!
    if (c !== '\\' || i + 1 >= field.length) {
      out += c
      continue
    }
    const n = field[++i]!
    switch (n) {
      case 'b': out += '\b'; break
      case 'f': out += '\f'; break
      case 'n': out += '\n'; break
      case 'r': out += '\r'; break
      case 't': out += '\t'; break
      case 'v': out += '\v'; break
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1))
        if (m) {
          out += String.fromCharCode(parseInt(m[0], 16))
          i += m[0].length
        } else out += 'x'
        break
      }
      default:
        if (n >= '0' && n <= '7') {
          const m = /^[0-7]{1,3}/.exec(field.slice(i))!
          out += String.fromCharCode(parseInt(m[0], 8) & 0xff)
          i += m[0].length - 1
        } else out += n // \\ and any other escaped character stand for themselves
    }
  }
  return out
}

const NEEDS_ESCAPE = /[\\\n\r\t\b\f\v]/
const ESCAPABLE = /[\\\n\r\t\b\f\v]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' }

/** A value as a COPY text field, escaped the way pg_dump escapes. */
export function encodeField(value: string | null): string {
  if (value === null) return '\\N'
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPABLE, (c) => ESCAPES[c] ?? c) : value
}
