// An incremental refresh as a snapshot source: production is read in one REPEATABLE READ READ ONLY
// transaction whose snapshot pg_dump shares (--snapshot), a local database holding the previous
// snapshot is brought to the same state by replacing only the key ranges whose checksums differ, and the
// result is streamed as an ordinary plain-SQL dump, so the store gives it every guarantee of a full pull
// (temp file, verify, anonymize in the stream, atomic commit, manifest). Production sees SELECTs only:
// no slot, publication, temp table, extension or setting, and the transaction cannot write.
import { PassThrough } from 'node:stream'
import type { DumpStream, OpenOptions, SnapshotSource, SourceCompletion, SourceSpec } from '../sources/types.ts'
import { RotvError } from '../errors.ts'
import { literal, readTables, sequenceValues, type TableInfo } from './catalog.ts'
import { DEFAULT_TUNING, diffTable, rangesSelect, type DiffTuning, type KeyRange } from './diff.ts'
import { endpointFor, origin } from './endpoints.ts'
import { RefreshNotPossibleError } from './errors.ts'
import { dumpSchema } from './schema-dump.ts'
import { SqlSession, type SessionCommand } from './session.ts'

export interface RefreshStats {
  /** Bytes that came from production: the psql session's output and both schema dumps. */
  bytesReceived: number
  /** Tables whose rows changed, were copied whole (no key, changed definition) or are new. */
  tablesChanged: number
  /** Key ranges fetched again. */
  chunksChanged: number
  /** Tables copied whole, and why. */
  copiedWhole: { table: string; reason: 'no integer key' | 'definition changed' | 'new table' }[]
}

export interface RefreshOptions {
  /** psql against the local database that holds the previous snapshot; it is changed in place. */
  local: SessionCommand
  tuning?: DiffTuning
  /** Set when the dump has been produced in full. */
  onStats?: (stats: RefreshStats) => void
}

// The same text of every value on both sides: the row hashes compare text.
const SESSION_SETUP = `SET client_encoding = 'UTF8'; SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET bytea_output = hex; SET standard_conforming_strings = on`

export function incrementalSource(spec: SourceSpec, opts: RefreshOptions): SnapshotSource & { stats(): RefreshStats | undefined } {
  const endpoint = endpointFor(spec)
  let stats: RefreshStats | undefined
  return {
    spec,
    describe: () => `${endpoint.description} (incremental)`,
    stats: () => stats,
    async open(o: OpenOptions = {}): Promise<DumpStream> {
      const remote = new SqlSession(endpoint.psql(), o.signal)
      const local = new SqlSession(opts.local, o.signal)
      const fail = async (err: unknown) => {
        await Promise.all([remote.kill(), local.kill()])
        return err
      }
      let plan: Plan
      try {
        plan = await prepare(remote, local, endpoint.pgDump, opts.tuning ?? DEFAULT_TUNING, o.signal)
      } catch (err) {
        throw await fail(err)
      }
      const out = new PassThrough({ highWaterMark: 1 << 20 })
      const done = (async (): Promise<SourceCompletion> => {
        try {
          await writeDump(out, plan, remote, local)
          await Promise.all([remote.close(), local.close()])
          stats = { ...plan.stats, bytesReceived: plan.schemaBytes + remote.bytesReceived }
          opts.onStats?.(stats)
          out.end()
          return { ok: true, exitCodes: { psql: 0 }, signals: {}, stderr: '' }
        } catch (err) {
          await fail(err)
          const error = err instanceof RotvError ? err : new RotvError(`incremental refresh failed: ${(err as Error).message}`, { fix: 'run `seed --full`' })
          out.destroy(error)
          return { ok: false, exitCodes: { psql: null }, signals: {}, stderr: '', error }
        }
      })()
      return {
        stream: out,
        format: 'plain',
        meta: { kind: spec.kind, ...origin(spec), description: `${endpoint.description} (incremental)` },
        done,
      }
    },
  }
}

interface Plan {
  head: string
  tail: string
  schemaBytes: number
  tables: { info: TableInfo; from: 'local' | 'remote' }[]
  sequences: { name: string; lastValue: string; isCalled: boolean }[]
  stats: Omit<RefreshStats, 'bytesReceived'>
}

async function prepare(remote: SqlSession, local: SqlSession, pgDump: (extra: readonly string[]) => SessionCommand, tuning: DiffTuning, signal?: AbortSignal): Promise<Plan> {
  await remote.rows(`${SESSION_SETUP}; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
  const snapshot = (await remote.rows('SELECT pg_export_snapshot()').catch((err) => {
    throw new RefreshNotPossibleError(`the server does not export snapshots (${(err as Error).message.split('\n')[0]})`)
  }))[0]?.[0]
  if (!snapshot) throw new RefreshNotPossibleError('the server returned no snapshot id')
  const blobs = (await remote.rows('SELECT count(*) FROM pg_largeobject_metadata'))[0]?.[0]
  if (blobs !== '0') throw new RefreshNotPossibleError('the database has large objects, which only a full pg_dump carries')
  // Triggers and foreign keys off: the local copy takes rows in any order, as a load does.
  await local.rows(`${SESSION_SETUP}; SET session_replication_role = replica`)
  const [schema, theirs, ours] = await Promise.all([dumpSchema(pgDump, snapshot, signal), readTables(remote), readTables(local)])
  const plan: Plan = { head: schema.head, tail: schema.tail, schemaBytes: schema.bytes, tables: [], sequences: [], stats: { tablesChanged: 0, chunksChanged: 0, copiedWhole: [] } }
  for (const info of theirs.values()) {
    const mine = ours.get(info.qualified)
    const reason = !mine ? 'new table' : mine.definition !== info.definition ? 'definition changed' : !info.key || info.key !== mine.key ? 'no integer key' : undefined
    if (reason) {
      plan.tables.push({ info, from: 'remote' })
      plan.stats.copiedWhole.push({ table: info.qualified, reason })
      plan.stats.tablesChanged++
      continue
    }
    const diff = await diffTable(remote, local, info, tuning)
    if (diff.changed.length > 0) {
      await replaceRanges(remote, local, info, diff.changed)
      plan.stats.tablesChanged++
      plan.stats.chunksChanged += diff.changed.length
    }
    plan.tables.push({ info, from: 'local' })
  }
  plan.sequences = await sequenceValues(remote)
  return plan
}

const FETCH_BATCH = 500

async function replaceRanges(remote: SqlSession, local: SqlSession, table: TableInfo, ranges: KeyRange[]): Promise<void> {
  const cols = table.columns.map((c) => `x.${c}`).join(', ')
  for (let i = 0; i < ranges.length; i += FETCH_BATCH) {
    const batch = ranges.slice(i, i + FETCH_BATCH)
    const rows: string[] = []
    await remote.stream(`COPY (${rangesSelect(table, batch, cols)}) TO STDOUT`, (line) => void rows.push(line))
    await local.rows(batch.map((x) => `DELETE FROM ONLY ${table.qualified} WHERE ${table.key} >= ${x.lo} AND ${table.key} < ${x.hi}`).join(';\n'))
    if (rows.length > 0) await local.copyIn(`COPY ${table.qualified} ${columnList(table)} FROM STDIN;`, rows)
  }
}

/** The dump: the schema's first part, one COPY block per table (pg_dump's layout), setvals, the rest. */
async function writeDump(out: PassThrough, plan: Plan, remote: SqlSession, local: SqlSession): Promise<void> {
  const write = (text: string) => new Promise<void>((resolve, reject) => {
    if (out.destroyed) return reject(new Error('the output was closed'))
    out.write(text) ? resolve() : out.once('drain', () => resolve())
  })
  await write(plan.head)
  for (const { info, from } of plan.tables) {
    await write(`--\n-- Data for Name: ${info.name}; Type: TABLE DATA; Schema: ${info.schema}; Owner: -\n--\n\nCOPY ${info.qualified} ${columnList(info)}FROM stdin;\n`)
    let buf: string[] = []
    let size = 0
    const session = from === 'local' ? local : remote
    await session.stream(`COPY ${info.qualified} ${columnList(info)}TO STDOUT`, async (line) => {
      buf.push(line)
      size += line.length + 1
      if (size >= 256 * 1024) {
        const text = `${buf.join('\n')}\n`
        buf = []
        size = 0
        await write(text)
      }
    })
    if (buf.length) await write(`${buf.join('\n')}\n`)
    await write('\\.\n\n\n')
  }
  for (const s of plan.sequences) {
    const name = s.name.split('.').pop()!
    await write(`--\n-- Name: ${name}; Type: SEQUENCE SET; Schema: -; Owner: -\n--\n\nSELECT pg_catalog.setval(${literal(s.name)}, ${s.lastValue}, ${s.isCalled});\n\n\n`)
  }
  await write(plan.tail)
}

function columnList(t: TableInfo): string {
  return t.columns.length ? `(${t.columns.join(', ')}) ` : ''
}
