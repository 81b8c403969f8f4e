// The anonymizer as a stream stage: plain-SQL pg_dump bytes in, the same dump out with the ruled COPY
// columns rewritten and truncated tables' rows dropped. Everything else passes through byte for byte.
// Only the rows of ruled tables are decoded; a table without rules is skipped with one indexOf for its
// "\n\.\n" terminator, so the bulk of a big dump costs a memchr-speed scan.
import { Transform, type TransformCallback } from 'node:stream'
import { parseCopyHeader, decodeField, encodeField } from './copy-text.ts'
import { AnonymizeCollisionError, AnonymizeCoverageError, AnonymizeDumpFormatError, AnonymizeUnsupportedDumpError, MissingAnonymizeSaltError } from './errors.ts'
import { looksPersonal } from './personal.ts'
import { DETECTORS } from './detectors.ts'
import type { NormalizedRules } from './rules.ts'
import { columnTransform, devPasswordHash, keyed, saltFingerprint, type ValueTransform } from './transforms.ts'
import { freeTextTransform, type DetectionCounts, type DetectorName, type FreeTextTransform } from './detectors.ts'
import { LeakIndex, type LeakFinding, type LeakKind } from './leak-scan.ts'
import { mustDecode } from './field-filter.ts'

export const MIN_SALT_LENGTH = 16

export interface AnonymizeSettings {
  rules: NormalizedRules
  /** The per-project secret (ANONYMIZE_SALT). Never logged, never stored: only its fingerprint is. */
  salt: string
  /** Coverage problems are errors instead of warnings. */
  strict?: boolean
  /** Where the rules came from, for the manifest (e.g. anonymize.config.ts). */
  rulesOrigin?: string
}

export interface AnonymizeStreamOptions {
  /** Second pass over an anonymized dump: only mask what this (complete) index finds; no rules. */
  rescan?: LeakIndex
  /** With rescan: also run every detector on every text column (`snapshots scan`). */
  detect?: boolean
}

/** What the manifest records about an anonymized snapshot. Never the salt. */
export interface AnonymizationRecord {
  rulesSha256: string
  rulesOrigin?: string
  saltFingerprint: string
  strict: boolean
  /** Per ruled table found in the dump: rows rewritten (or dropped) and the columns touched. */
  tables: Record<string, { rows: number; truncated: boolean; columns: string[] }>
  warnings: string[]
  /** Personal-looking columns no rule covered (copied unchanged): what makes export and push refuse. */
  unruled: { table: string; columns: string[] }[]
  /** Free-text detector matches replaced, per schema.table.column. */
  freeText?: Record<string, DetectionCounts>
  /** The leak scan: how many personal values were fingerprinted, what was found (and masked) where. */
  leakScan?: { values: number; rescanned: boolean; findings: LeakFinding[] }
}

const NL = 0x0a
const TAB = 0x09
/** Distinct values remembered per column (repeats skip decode, HMAC and encode); cleared when full. */
const MEMO_LIMIT = 65_536
const END = Buffer.from('\n\\.\n')
/** How much of a chunk is worked through before yielding to the event loop. */
const SLICE_BYTES = 128 * 1024

type State = 'sql' | 'copy-pass' | 'copy-rule' | 'copy-drop'

/** What happens to one column's field: rewritten by its rule, or searched by detectors and the scan. */
interface ColumnOp {
  column: string
  transform?: ValueTransform
  detect?: FreeTextTransform
  scan: boolean
  /** Its original values are personal: fingerprint them for the leak scan, as this kind. */
  collect?: LeakKind
  /** raw COPY field -> the result, for values that repeat (bounded). */
  memo: Map<string, FieldResult>
}

interface FieldResult {
  /** The output field; undefined when it is the raw field unchanged. */
  field?: string
  hits?: DetectionCounts
  found?: number[]
}

interface ActiveTable {
  key: string
  /** Per column position: what to do, or undefined to keep the raw field without looking. */
  ops: (ColumnOp | undefined)[]
  /** Whether any op rewrites by rule (the table is in record.tables). */
  ruled: boolean
  /** Column positions whose outputs must stay distinct. */
  unique: { index: number; column: string; seen: Set<string> }[]
  rows: number
  /** Only detectors and the scan look at this table's fields: a row whose bytes cannot hold anything
   * for them (field-filter.ts) passes through without being decoded. */
  prefilter: boolean
}

export class AnonymizeStream extends Transform {
  private state: State = 'sql'
  private carry: Buffer | null = null
  /** In copy-pass: the next byte starts a line (the block may be empty: "\." right after the header). */
  private atLineStart = false
  private active: ActiveTable | null = null
  private readonly k
  private readonly rules: NormalizedRules
  private readonly strict: boolean
  private devHash: string | undefined
  private restrictKey: string | undefined
  private readonly seenTables = new Map<string, string[]>()
  private readonly record: AnonymizationRecord
  private readonly problems: string[] = []
  /** schema.table -> column -> PostgreSQL type, from the dump's CREATE TABLE statements. */
  private readonly columnTypes = new Map<string, Map<string, string>>()
  private ddl: { key: string; types: Map<string, string> } | null = null
  private readonly leak: LeakIndex | undefined
  private readonly rescan: boolean
  private readonly detectAll: boolean
  private readonly freeTextCounts = new Map<string, DetectionCounts>()
  /** Strict mode met a problem: nothing more is emitted, the rest is only read to count every problem. */
  private discarding = false

  constructor(private readonly settings: AnonymizeSettings, opts: AnonymizeStreamOptions = {}) {
    super({ highWaterMark: 1 << 20 })
    if (typeof settings.salt !== 'string' || settings.salt.length < MIN_SALT_LENGTH) throw new MissingAnonymizeSaltError(MIN_SALT_LENGTH)
    this.k = keyed(settings.salt)
    this.rescan = opts.rescan !== undefined
    this.detectAll = opts.detect === true
    this.leak = opts.rescan ?? (settings.rules.leakScan ? new LeakIndex(this.k, { trackSeen: true }) : undefined)
    this.rules = settings.rules
    this.strict = settings.strict === true
    this.record = {
      rulesSha256: settings.rules.sha256,
      rulesOrigin: settings.rulesOrigin,
      saltFingerprint: saltFingerprint(settings.salt),
      strict: this.strict,
      tables: {},
      warnings: [],
      unruled: [],
    }
  }

  /** Complete once the stream has ended: coverage warnings are added in _flush. */
  result(): AnonymizationRecord {
    const r: AnonymizationRecord = { ...this.record, tables: { ...this.record.tables }, warnings: [...this.record.warnings], unruled: this.record.unruled.map((u) => ({ ...u, columns: [...u.columns] })) }
    if (this.freeTextCounts.size) r.freeText = Object.fromEntries([...this.freeTextCounts.entries()].map(([c, h]) => [c, { ...h }]))
    if (this.leak) r.leakScan = { values: this.leak.size, rescanned: false, findings: this.leak.result() }
    return r
  }

  /** The leak index, once the stream has ended: for the second pass and for the stored fingerprints. */
  leakIndex(): LeakIndex | undefined {
    return this.leak
  }

  /** Text passed before the personal values it holds were known: the output must be scanned again. */
  needsRescan(): boolean {
    return !this.rescan && this.leak !== undefined && this.leak.needsRescan()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    // A source's 1 MiB read is worked through in slices, yielding to the event loop between them: the
    // compressor downstream runs on another thread but needs this one to hand it each finished block,
    // so one long synchronous pass would leave it idle (the pull would take the sum of both, not the
    // larger).
    let off = 0
    const step = () => {
      try {
        while (off < chunk.length) {
          const end = Math.min(off + SLICE_BYTES, chunk.length)
          const part = off === 0 && end === chunk.length ? chunk : chunk.subarray(off, end)
          this.process(this.carry ? Buffer.concat([this.carry, part]) : part, false)
          off = end
          if (off < chunk.length) {
            setImmediate(step)
            return
          }
        }
        cb()
      } catch (err) {
        cb(err as Error)
      }
    }
    step()
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.carry) this.process(this.carry, true)
      this.carry = null
      this.checkCoverage()
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  /** Emits everything of `buf` it can; keeps an incomplete last line in `carry` unless `final`. */
  private process(buf: Buffer, final: boolean): void {
    this.carry = null
    // Output is gathered into one buffer per input chunk: thousands of row-sized pushes would each
    // become a separate call into the compressor downstream.
    const out: Buffer[] = []
    let rewritten = '' // consecutive rewritten rows, turned into one Buffer when pass-through resumes
    const emit = (from: number, to: number) => {
      if (rewritten) {
        out.push(Buffer.from(rewritten))
        rewritten = ''
      }
      if (to > from) out.push(buf.subarray(from, to))
    }
    let passStart = 0 // start of bytes not yet emitted that pass through unchanged
    let pos = 0
    while (pos < buf.length) {
      if (this.state === 'copy-pass') {
        if (this.atLineStart) {
          if (buf.length - pos < 3 && !final) break
          if (buf[pos] === 0x5c && buf[pos + 1] === 0x2e && (buf[pos + 2] === NL || pos + 2 === buf.length)) {
            pos += 3
            this.state = 'sql'
            continue
          }
          this.atLineStart = false
        }
        const end = buf.indexOf(END, pos)
        if (end !== -1) {
          pos = end + END.length
          this.state = 'sql'
          continue
        }
        // Keep the last newline onwards so a terminator split across chunks is still found.
        const lastNl = buf.lastIndexOf(NL)
        pos = lastNl >= pos ? lastNl : pos
        if (final) pos = buf.length
        break
      }
      const nl = buf.indexOf(NL, pos)
      if (nl === -1 && !final) break
      const lineEnd = nl === -1 ? buf.length : nl
      const next = nl === -1 ? buf.length : nl + 1
      if (this.state === 'sql') {
        const first = buf[pos]
        if (this.ddl) this.ddlLine(buf.toString('utf8', pos, lineEnd))
        else if (first === 0x43 /* C */ || first === 0x49 /* I */) this.sqlLine(buf.toString('utf8', pos, lineEnd))
        else if (first === 0x5c /* \ */) {
          const replaced = this.restrictLine(buf.toString('utf8', pos, lineEnd))
          if (replaced !== undefined) {
            emit(passStart, pos)
            rewritten = replaced + (nl === -1 ? '' : '\n')
            passStart = next
          }
        }
      } else if (isTerminator(buf, pos, lineEnd)) {
        this.state = 'sql'
        this.active = null
      } else if (this.state === 'copy-drop') {
        if (pos > passStart) emit(passStart, pos)
        passStart = next
        this.record.tables[this.active!.key]!.rows = ++this.active!.rows
        if (this.active!.ops.length) this.rewriteRow(buf.toString('utf8', pos, lineEnd)) // fingerprints only
      } else if (this.active!.prefilter && !this.rowNeedsDecode(buf, pos, lineEnd)) {
        this.active!.rows++ // unchanged: it stays in the pass-through run
      } else {
        const row = this.rewriteRow(buf.toString('utf8', pos, lineEnd))
        if (row !== undefined) {
          if (pos > passStart) emit(passStart, pos)
          rewritten += row + (nl === -1 ? '' : '\n')
          passStart = next
        }
      }
      pos = next
    }
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos)) // a copy: the chunk may be reused upstream
    if (this.discarding) return
    emit(passStart, pos)
    if (out.length === 1) this.push(out[0])
    else if (out.length > 1) this.push(Buffer.concat(out))
  }

  /**
   * pg_dump (15.14+, 16.10+, 17.6+) fences the dump with `\restrict KEY` / `\unrestrict KEY`, a random KEY
   * per run, so no two dumps are byte-identical. An anonymized snapshot gets a KEY derived from the salt
   * instead: two pulls of the same data give the same sha256, and the key stays as unguessable to the
   * server that produced the data (it never sees the salt), which is what the fence needs.
   */
  private restrictLine(line: string): string | undefined {
    const m = /^\\(restrict|unrestrict) ([A-Za-z0-9]+)\s*$/.exec(line)
    if (!m) return undefined
    this.restrictKey ??= restrictKey(Buffer.concat([1, 2].map((n) => this.k.hmac(`restrict key ${n}\0${this.rules.sha256}`))))
    return `\\${m[1]} ${this.restrictKey}`
  }

  private sqlLine(line: string): void {
    if (line.startsWith('CREATE TABLE ') && line.endsWith('(')) {
      const m = /^CREATE (?:UNLOGGED )?TABLE ((?:"(?:[^"]|"")*"|[^\s."]+)(?:\.(?:"(?:[^"]|"")*"|[^\s."]+))?) \($/.exec(line)
      if (m) {
        const parts = m[1]!.match(/"(?:[^"]|"")*"|[^."]+/g)!.map((p) => (p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p.toLowerCase()))
        this.ddl = { key: parts.length > 1 ? `${parts[0]}.${parts[1]}` : `public.${parts[0]}`, types: new Map() }
      }
      return
    }
    if (line.startsWith('INSERT INTO ')) {
      const m = /^INSERT INTO\s+((?:"(?:[^"]|"")*"|[^\s.(]+)(?:\.(?:"(?:[^"]|"")*"|[^\s(]+))?)/.exec(line)
      const name = m?.[1]?.replace(/"/g, '') ?? '?'
      const key = name.includes('.') ? name : `public.${name}`
      if (this.rules.tables.has(key)) throw new AnonymizeUnsupportedDumpError(`the data of ${key} comes as INSERT statements`)
      return
    }
    // Only a whole-line `COPY ... FROM stdin;` starts data (as for DumpInspector); a COPY inside a function
    // body does not.
    if (!line.startsWith('COPY ') || !/\sFROM\s+stdin;\s*$/i.test(line)) return
    const header = parseCopyHeader(line)
    if (!header) throw new AnonymizeDumpFormatError(`unreadable COPY statement: ${line.slice(0, 200)}`)
    const key = `${header.schema}.${header.table}`
    this.seenTables.set(key, header.columns)
    const rule = this.rules.tables.get(key)
    if (this.rescan) return this.startScanOnly(key, header.columns)
    if (this.discarding && rule !== 'truncate-table') {
      this.noteUnruled(key, header.columns, rule)
      this.state = 'copy-pass'
      this.atLineStart = true
      return
    }
    if (rule === 'truncate-table') {
      // The rows go, but their personal-looking values are fingerprinted: a session id in a log is a finding.
      const ops = this.leak ? header.columns.map((column) => (looksPersonal(column) ? this.op(column, { collect: 'secret' }) : undefined)) : []
      this.active = { key, ops: ops.some(Boolean) ? ops : [], ruled: true, unique: [], rows: 0, prefilter: false }
      this.record.tables[key] = { rows: 0, truncated: true, columns: [] }
      this.state = 'copy-drop'
      return
    }
    const unruled = this.noteUnruled(key, header.columns, rule)
    const types = this.columnTypes.get(key)
    const personalTable = unruled.length > 0 || [...(rule?.values() ?? [])].some((r) => r.transform !== 'keep')
    const ops: (ColumnOp | undefined)[] = []
    const unique: ActiveTable['unique'] = []
    const touched: string[] = []
    header.columns.forEach((column, index) => {
      const r = rule?.get(column)
      const text = types ? isTextType(types.get(column)) : true // a data-only dump has no types: look at all
      if (r) {
        const f = columnTransform(this.k, this.rules, key, column, r, () => (this.devHash ??= devPasswordHash(this.k, this.rules)))
        if (f === 'keep') return // looked at and declared not personal: neither rewritten nor searched
        touched.push(column)
        ops[index] = this.op(column, { transform: f, collect: this.leak ? kindOf(r.transform) : undefined })
        if (r.unique) unique.push({ index, column, seen: new Set() })
        return
      }
      if (!text) return
      const detectors = this.detectorsFor(key, column, personalTable)
      // Unruled personal columns are reported (and block export); fingerprinting them would find them in
      // their own column.
      const scan = this.leak !== undefined && !unruled.includes(column)
      if (detectors || scan) ops[index] = this.op(column, { detect: detectors ? this.detector(detectors) : undefined, scan })
    })
    if (ops.every((o) => o === undefined)) {
      this.state = 'copy-pass'
      this.atLineStart = true
      return
    }
    this.active = { key, ops, ruled: touched.length > 0, unique, rows: 0, prefilter: this.canPrefilter(ops) }
    if (touched.length) this.record.tables[key] = { rows: 0, truncated: false, columns: touched }
    this.state = 'copy-rule'
  }

  /** The second pass: every text column is searched for the fingerprints, nothing else is done. */
  private startScanOnly(key: string, columns: string[]): void {
    const types = this.columnTypes.get(key)
    const detect = this.detectAll ? this.detector([...DETECTORS]) : undefined
    const ops = columns.map((column) => ((types ? isTextType(types.get(column)) : true) ? this.op(column, { scan: true, detect }) : undefined))
    if (ops.every((o) => o === undefined)) {
      this.state = 'copy-pass'
      this.atLineStart = true
      return
    }
    this.active = { key, ops, ruled: false, unique: [], rows: 0, prefilter: this.canPrefilter(ops) }
    this.state = 'copy-rule'
  }

  private canPrefilter(ops: (ColumnOp | undefined)[]): boolean {
    return ops.every((o) => o === undefined || (!o.transform && !o.collect && (!o.scan || this.leak!.prefilters)))
  }

  /** Whether any field of the row at buf[start, lineEnd) must be decoded (see field-filter.ts). */
  private rowNeedsDecode(buf: Buffer, start: number, lineEnd: number): boolean {
    const ops = this.active!.ops
    for (let col = 0; col < ops.length; col++) {
      let end = buf.indexOf(TAB, start)
      if (end === -1 || end > lineEnd) end = lineEnd
      const op = ops[col]
      if (op && mustDecode(buf, start, end, op.detect !== undefined, op.scan ? this.leak : undefined)) return true
      if (end === lineEnd) return false
      start = end + 1
    }
    return false
  }

  private op(column: string, o: Partial<ColumnOp>): ColumnOp {
    return { column, scan: false, memo: new Map(), ...o }
  }

  private readonly detectorCache = new Map<string, FreeTextTransform>()
  private detector(names: DetectorName[]): FreeTextTransform {
    const id = names.join(',')
    let f = this.detectorCache.get(id)
    if (!f) this.detectorCache.set(id, (f = freeTextTransform(this.k, names)))
    return f
  }

  /** Detectors for a text column without a column rule: the table's freeText setting, else the default. */
  private detectorsFor(table: string, column: string, personalTable: boolean): DetectorName[] | undefined {
    const set = this.rules.freeText.get(table)
    if (set instanceof Map) {
      const c = set.get(column)
      if (c !== undefined) return c === false ? undefined : c
    } else if (set !== undefined) return set === false ? undefined : set
    const d = this.rules.freeTextDefault
    if (d === 'all-tables' || (d === 'personal-tables' && personalTable)) return [...DETECTORS]
    return undefined
  }

  /** A line inside `CREATE TABLE ... (` ... `);`: one column and its type. */
  private ddlLine(line: string): void {
    if (line.startsWith(')')) {
      this.columnTypes.set(this.ddl!.key, this.ddl!.types)
      this.ddl = null
      return
    }
    const m = /^\s+("(?:[^"]|"")*"|[^\s"]+)\s+(.+?),?\s*$/.exec(line)
    if (!m || /^(CONSTRAINT|CHECK|UNIQUE|PRIMARY|EXCLUDE|FOREIGN|LIKE)$/.test(m[1]!)) return
    const name = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!.toLowerCase()
    this.ddl!.types.set(name, m[2]!.toLowerCase())
  }

  /** Rewrites one COPY row; undefined when every field came out as it went in. */
  private rewriteRow(line: string): string | undefined {
    const a = this.active!
    if (this.state === 'copy-rule') {
      a.rows++
      if (a.ruled) this.record.tables[a.key]!.rows = a.rows
    }
    // Walk the tabs only as far as the last column with an op; untouched fields are copied as slices.
    let out = ''
    let copied = 0 // line[0, copied) is already in out
    let changed = false
    let start = 0
    for (let col = 0; col < a.ops.length; col++) {
      let end = line.indexOf('\t', start)
      if (end === -1) end = line.length
      const op = a.ops[col]
      if (op) {
        const raw = line.slice(start, end)
        let r = op.memo.get(raw)
        if (r === undefined) {
          r = this.field(a.key, op, raw)
          if (op.memo.size >= MEMO_LIMIT) op.memo.clear()
          op.memo.set(raw, r)
        }
        if (r.hits) this.countHits(a.key, op.column, r.hits)
        if (r.found) this.leak!.count(a.key, op.column, r.found)
        const field = r.field ?? raw
        if (r.field !== undefined) {
          out += line.slice(copied, start) + r.field
          copied = end
          changed = true
        }
        if (a.unique.length) this.checkUnique(a, col, field)
      }
      if (end === line.length) break
      start = end + 1
    }
    return changed ? out + line.slice(copied) : undefined
  }

  /** One distinct field through its op: fingerprint the original, rewrite, detect, scan. */
  private field(table: string, op: ColumnOp, raw: string): FieldResult {
    const value = decodeField(raw)
    if (value === null) return op.transform ? { field: encodeField(op.transform(null)) } : {}
    if (op.collect) this.leak!.add(`${table}.${op.column}`, op.collect, value)
    let out: string | null = op.transform ? op.transform(value) : value
    const r: FieldResult = {}
    if (out !== null && op.detect) {
      const d = op.detect(out)
      out = d.text
      r.hits = d.hits
    }
    if (out !== null && op.scan) {
      const s = this.leak!.scan(out)
      out = s.text
      r.found = s.found
    }
    if (op.transform || out !== value) {
      const field = encodeField(out)
      if (field !== raw) r.field = field
    }
    return r
  }

  private countHits(table: string, column: string, hits: DetectionCounts): void {
    const key = `${table}.${column}`
    let c = this.freeTextCounts.get(key)
    if (!c) this.freeTextCounts.set(key, (c = {}))
    for (const [d, n] of Object.entries(hits) as [DetectorName, number][]) c[d] = (c[d] ?? 0) + n
  }

  private checkUnique(a: ActiveTable, col: number, field: string): void {
    if (field === '\\N') return
    const u = a.unique.find((x) => x.index === col)
    if (!u) return
    if (u.seen.has(field)) throw new AnonymizeCollisionError(a.key, u.column)
    u.seen.add(field)
  }

  /** A personal-looking column without a rule: a warning now, or (strict) the pull stops here. */
  private noteUnruled(key: string, columns: string[], rule: Map<string, unknown> | undefined): string[] {
    const unruled = columns.filter((c) => !rule?.has(c) && looksPersonal(c))
    if (unruled.length === 0) return unruled
    const problem = `${key}: column${unruled.length > 1 ? 's' : ''} ${unruled.join(', ')} look${unruled.length > 1 ? '' : 's'} personal but ha${unruled.length > 1 ? 've' : 's'} no rule (copied unchanged)`
    this.problems.push(problem)
    this.record.unruled.push({ table: key, columns: unruled })
    // Strict: stop writing now, but read on so the error lists every problem, not just the first.
    if (this.strict) this.discarding = true
    return unruled
  }

  private checkCoverage(): void {
    for (const [table, rule] of this.rules.tables) {
      const columns = this.seenTables.get(table)
      if (!columns) {
        this.problems.push(`${table}: named in the rules but not in the dump`)
        continue
      }
      if (rule === 'truncate-table') continue
      const missing = [...rule.keys()].filter((c) => !columns.includes(c))
      if (missing.length) this.problems.push(`${table}: rule${missing.length > 1 ? 's' : ''} for ${missing.join(', ')}, not in the dump`)
    }
    if (this.state !== 'sql' && !this.discarding) return // a cut-off dump: the store reports it as truncated
    if (this.strict && this.problems.length) throw new AnonymizeCoverageError(this.problems)
    this.record.warnings = [...this.problems]
  }
}

/** Types whose values are text a person could have written into (arrays and user types are left out:
 * a fake could break their syntax). */
function isTextType(type: string | undefined): boolean {
  return type !== undefined && /^(text|character varying|varchar|character|char|bpchar|citext|json|jsonb|xml)\b(?!.*\[\])/.test(type)
}

function kindOf(t: unknown): LeakKind {
  switch (t) {
    case 'hash-email': return 'email'
    case 'fake-name': return 'name'
    case 'hash': return 'id'
    case 'fake-phone': return 'phone'
    case 'password': return 'secret'
    default: return 'value'
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function restrictKey(mac: Buffer): string {
  // 63 alphanumerics like pg_dump's own keys, one per HMAC byte.
  let key = ''
  for (let i = 0; i < 63; i++) key += ALNUM[mac[i]! % ALNUM.length]
  return key
}

function isTerminator(buf: Buffer, start: number, end: number): boolean {
  return end - start === 2 && buf[start] === 0x5c && buf[start + 1] === 0x2e
}
