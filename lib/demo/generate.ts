// The `demo` snapshot source: streams a deterministic plain-SQL dump in the exact form
// `pg_dump --clean --if-exists --no-owner --no-acl` (PostgreSQL 17) writes, with the schema
// app/migrations produce and demo data in production's counts. `size` grows only job_logs, so the
// app's counts are the same at every size.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { RotvError } from '../errors.ts'
import { listMigrations, type Migration } from '../migrations.ts'
import { copyRow, timestamptz } from './copy-text.ts'
import { contentRows, DEMO_COUNTS, DEMO_EPOCH_MS } from './content.ts'
import { jobLogRows } from './job-logs.ts'
import { streamFor } from './prng.ts'
import { schemaEntries, TABLES, type TocEntry } from './schema.ts'

export { DEMO_COUNTS, DEMO_LOGIN, DEMO_ADMIN_EMAIL } from './content.ts'

export const DEFAULT_SEED = 1
/** Default dump size: the fixed tables (about 1.1 MB) plus job_logs up to this many bytes in all. */
export const DEFAULT_DEMO_SIZE = 4 * 1024 * 1024
/** The server and pg_dump version the header names. */
export const DEMO_PG_VERSION = '17.10'
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../app/migrations/', import.meta.url))

export interface DemoDumpOptions {
  seed?: number
  /** Target size in bytes (see parseSize); job_logs fills what the other tables leave (nothing below ~1.1 MB, and no effect when job_logs is omitted with its migration). */
  size?: number
  /** Leave out the newest N migrations (their objects and their schema_migrations rows): an older snapshot. */
  omitNewestMigrations?: number
  /**
   * Major version of the server the dump will be loaded into. pg_dump 17 writes
   * `SET transaction_timeout = 0;`, which servers before 17 reject; below 17 that line is left out
   * (what anyone restoring a 17 dump into an older server has to do). Default 17.
   */
  loadInto?: number
  migrationsDir?: string
}

export class DemoDumpError extends RotvError {}

/** The dump as a byte stream that respects backpressure (generation pauses while the reader is full). */
export function generateDemoDump(opts: DemoDumpOptions = {}): Readable {
  return Readable.from(demoDumpChunks(opts), { objectMode: false, highWaterMark: 1 << 20 })
}

/** The same dump as an async generator of Buffers (about 1 MB each). */
export async function* demoDumpChunks(opts: DemoDumpOptions = {}): AsyncGenerator<Buffer> {
  const seed = (opts.seed ?? DEFAULT_SEED) >>> 0
  const size = opts.size ?? DEFAULT_DEMO_SIZE
  if (!Number.isFinite(size) || size < 0) throw new DemoDumpError(`invalid demo dump size ${size}`, { fix: 'give a size like 384MB' })
  const migrations = await listMigrations(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR)
  const omitCount = opts.omitNewestMigrations ?? 0
  if (!Number.isInteger(omitCount) || omitCount < 0 || omitCount >= migrations.length) {
    throw new DemoDumpError(`omitNewestMigrations must be between 0 and ${migrations.length - 1}, got ${omitCount}`, {
      fix: `the demo dump always holds at least the first migration; there are ${migrations.length}`,
    })
  }
  const kept = migrations.slice(0, migrations.length - omitCount)
  const omitted = new Set(migrations.slice(kept.length).map((m) => m.id))
  const entries = schemaEntries(omitted)
  const tables = TABLES.filter((t) => t.migration === undefined || !omitted.has(t.migration))
  const key = streamFor(seed, 'restrict-key').chars(63, ALNUM)
  const content = contentRows(seed)
  const fixedRows: Record<string, string> = { ...content, schema_migrations: migrationRows(kept) }
  const rowCounts: Record<string, number> = { pois: DEMO_COUNTS.pois, news: DEMO_COUNTS.news, events: DEMO_COUNTS.events, users: DEMO_COUNTS.users }

  const head = header(key, opts.loadInto ?? 17) + drops(entries) + preData(entries)
  const dataBefore: string[] = []
  const dataAfter: string[] = []
  let seenJobLogs = false
  for (const t of tables) {
    if (t.name === 'job_logs') { seenJobLogs = true; continue }
    const block = dataBlock(t.name, t.columns, fixedRows[t.name] ?? '')
    ;(seenJobLogs ? dataAfter : dataBefore).push(block)
  }
  // The tail's size barely depends on the job_logs row count (one setval), so measure it with a
  // generous placeholder and give job_logs the rest of the budget.
  const tailFor = (jobLogRowsCount: number) =>
    dataAfter.join('') + sequenceSets(tables, { ...rowCounts, job_logs: jobLogRowsCount }) + postData(entries) + trailer(key)
  const fixedBytes = Buffer.byteLength(head) + Buffer.byteLength(dataBefore.join('')) + Buffer.byteLength(tailFor(999_999_999))
  const jobLogs = tables.find((t) => t.name === 'job_logs')

  yield Buffer.from(head + dataBefore.join(''))
  let jobLogCount = 0
  if (jobLogs) {
    const copyLine = jobLogsCopyHead(jobLogs.columns)
    const end = '\\.\n\n\n'
    const budget = Math.max(0, size - fixedBytes - copyLine.length - end.length)
    let pending = copyLine
    for (const chunk of jobLogRows(seed, budget)) {
      jobLogCount = chunk.lastId
      yield Buffer.from(pending + chunk.text, 'latin1')
      pending = ''
    }
    yield Buffer.from(pending + end)
  }
  yield Buffer.from(tailFor(jobLogCount))
}

/** '384MB' -> bytes. Units are binary (KB = 1024 B, MB = 1024 KB, GB = 1024 MB); KiB/MiB/GiB also accepted. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text)
  if (!m) throw new DemoDumpError(`cannot read size "${text}"`, { fix: 'write a size like 20MB, 384MB or 1.5GB' })
  const unit = (m[2] ?? 'b').toLowerCase()[0]!
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1
  return Math.round(Number(m[1]) * factor)
}

/** sha256 of the dump for these options (what determinism tests compare). */
export async function demoDumpSha256(opts: DemoDumpOptions = {}): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of demoDumpChunks(opts)) hash.update(chunk)
  return hash.digest('hex')
}

// ---------------------------------------------------------------------------------------------------

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function header(key: string, loadInto: number): string {
  return [
    '--',
    '-- PostgreSQL database dump',
    '--',
    '',
    `\\restrict ${key}`,
    '',
    `-- Dumped from database version ${DEMO_PG_VERSION}`,
    `-- Dumped by pg_dump version ${DEMO_PG_VERSION}`,
    '',
    'SET statement_timeout = 0;',
    'SET lock_timeout = 0;',
    'SET idle_in_transaction_session_timeout = 0;',
    ...(loadInto >= 17 ? ['SET transaction_timeout = 0;'] : []),
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    "SELECT pg_catalog.set_config('search_path', '', false);",
    'SET check_function_bodies = false;',
    'SET xmloption = content;',
    'SET client_min_messages = warning;',
    'SET row_security = off;',
    '',
    '',
  ].join('\n')
}

function drops(entries: TocEntry[]): string {
  return entries.filter((e) => e.drop).reverse().map((e) => e.drop + '\n').join('')
}

function entryText(e: TocEntry): string {
  return `--\n-- Name: ${e.label}; Type: ${e.type}; Schema: public; Owner: -\n--\n\n${e.ddl}\n\n\n`
}

function preData(entries: TocEntry[]): string {
  let out = ''
  let tableSettingsDone = false
  for (const e of entries) {
    if (e.section !== 'pre-data') continue
    if (!tableSettingsDone && e.type === 'TABLE') {
      out += "SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n"
      tableSettingsDone = true
    }
    out += entryText(e)
  }
  return out
}

function postData(entries: TocEntry[]): string {
  return entries.filter((e) => e.section === 'post-data').map(entryText).join('')
}

function dataBlock(table: string, columns: string[], rows: string): string {
  return `--\n-- Data for Name: ${table}; Type: TABLE DATA; Schema: public; Owner: -\n--\n\n` +
    `COPY public.${table} (${columns.join(', ')}) FROM stdin;\n${rows}\\.\n\n\n`
}

function jobLogsCopyHead(columns: string[]): string {
  return `--\n-- Data for Name: job_logs; Type: TABLE DATA; Schema: public; Owner: -\n--\n\nCOPY public.job_logs (${columns.join(', ')}) FROM stdin;\n`
}

function sequenceSets(tables: typeof TABLES, counts: Record<string, number>): string {
  let out = ''
  for (const t of tables) {
    if (!t.sequence) continue
    const n = counts[t.name] ?? 0
    out += `--\n-- Name: ${t.sequence}; Type: SEQUENCE SET; Schema: public; Owner: -\n--\n\n` +
      `SELECT pg_catalog.setval('public.${t.sequence}', ${n > 0 ? n : 1}, ${n > 0});\n\n\n`
  }
  return out
}

function migrationRows(migrations: Migration[]): string {
  return migrations.map((m, i) => copyRow([m.id, m.sha256, timestamptz(DEMO_EPOCH_MS - (migrations.length - i) * 30 * 86_400_000)])).join('')
}

function trailer(key: string): string {
  return `--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${key}\n\n`
}
