// Finding the rows of one table that differ, by key ranges: both sides sum a 64-bit hash of every row
// per range (order-free, so the physical order of rows does not matter), ranges whose count or sum
// differ are split again, down to ranges small enough to fetch. Only sums cross the wire until then.
// The key is a single integer column, so a range is arithmetic and an index range scan on the server.
import type { SqlSession } from './session.ts'
import type { TableInfo } from './catalog.ts'

export interface DiffTuning {
  /** Sub-ranges per range at each level. */
  fanout: number
  /** A differing range with at most this many rows (on the server) is fetched rather than split. */
  leafRows: number
  /** Ranges per query. */
  batch: number
}

export const DEFAULT_TUNING: DiffTuning = { fanout: 32, leafRows: 4, batch: 2000 }

/** [lo, hi) over the key. bigint: int8 keys go past 2^53. */
export interface KeyRange {
  lo: bigint
  hi: bigint
}

export interface TableDiff {
  /** Ranges whose rows must be replaced by the server's. */
  changed: KeyRange[]
  /** Checksum sub-ranges compared (both sides), for the figures. */
  compared: number
}

// The row's text in a fixed session setup (see SESSION_SETUP) hashed with md5; its first 64 bits
// summed as numeric, which cannot overflow.
const ROW_HASH = `('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint`

export async function diffTable(remote: SqlSession, local: SqlSession, table: TableInfo, tuning: DiffTuning = DEFAULT_TUNING): Promise<TableDiff> {
  const k = `t.${table.key!}`
  const boundsSql = `SELECT min(${k}), max(${k}) FROM ONLY ${table.qualified} t`
  const [[r], [l]] = await Promise.all([remote.rows(boundsSql), local.rows(boundsSql)])
  const mins = [r?.[0], l?.[0]].filter((v): v is string => !!v).map(BigInt)
  const maxs = [r?.[1], l?.[1]].filter((v): v is string => !!v).map(BigInt)
  if (mins.length === 0) return { changed: [], compared: 0 }
  let level: KeyRange[] = [{ lo: min(mins), hi: max(maxs) + 1n }]
  const changed: KeyRange[] = []
  let compared = 0
  while (level.length > 0) {
    const next: KeyRange[] = []
    for (let i = 0; i < level.length; i += tuning.batch) {
      const ranges = level.slice(i, i + tuning.batch)
      const sql = sumsSql(table, k, ranges, tuning.fanout)
      const [rs, ls] = await Promise.all([remote.rows(sql), local.rows(sql)])
      const theirs = sums(rs)
      const ours = sums(ls)
      compared += theirs.size + ours.size
      for (const id of new Set([...theirs.keys(), ...ours.keys()])) {
        const a = theirs.get(id)
        const b = ours.get(id)
        if (a && b && a.count === b.count && a.sum === b.sum) continue
        const [ri, ci] = id.split(':').map(Number) as [number, number]
        const sub = subRange(ranges[ri]!, tuning.fanout, ci)
        if (Number(a?.count ?? 0) <= tuning.leafRows || sub.hi - sub.lo <= 1n) changed.push(sub)
        else next.push(sub)
      }
    }
    level = next
  }
  return { changed: merge(changed), compared }
}

/** The rows of the given ranges, as `x` with the table's columns: one index range scan per range. */
export function rangesSelect(table: TableInfo, ranges: readonly KeyRange[], select: string): string {
  const values = ranges.map((x, i) => `(${i}, ${x.lo}::int8, ${x.hi}::int8)`).join(', ')
  return `SELECT ${select} FROM (VALUES ${values}) r(i, lo, hi) CROSS JOIN LATERAL (SELECT * FROM ONLY ${table.qualified} t WHERE t.${table.key!} >= r.lo AND t.${table.key!} < r.hi) x ORDER BY r.i`
}

function sumsSql(table: TableInfo, k: string, ranges: readonly KeyRange[], fanout: number): string {
  // LATERAL: an index range scan per range, not a join of every row against every range.
  const values = ranges.map((x, i) => `(${i}, ${x.lo}::int8, ${width(x, fanout)}::int8, ${x.hi}::int8)`).join(', ')
  return `SELECT r.i || ':' || x.c, count(*), sum(x.h)
FROM (VALUES ${values}) r(i, lo, w, hi)
CROSS JOIN LATERAL (SELECT (${k} - r.lo) / r.w AS c, ${ROW_HASH} AS h FROM ONLY ${table.qualified} t WHERE ${k} >= r.lo AND ${k} < r.hi) x
GROUP BY r.i, x.c`
}

function sums(rows: string[][]): Map<string, { count: string; sum: string }> {
  return new Map(rows.map(([id, count, sum]) => [id!, { count: count!, sum: sum! }]))
}

function width(r: KeyRange, fanout: number): bigint {
  const span = r.hi - r.lo
  const w = (span + BigInt(fanout) - 1n) / BigInt(fanout)
  return w < 1n ? 1n : w
}

function subRange(r: KeyRange, fanout: number, i: number): KeyRange {
  const w = width(r, fanout)
  const lo = r.lo + BigInt(i) * w
  const hi = lo + w < r.hi ? lo + w : r.hi
  return { lo, hi }
}

/** Adjacent ranges as one: fewer, larger range scans. */
function merge(ranges: KeyRange[]): KeyRange[] {
  const sorted = [...ranges].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0))
  const out: KeyRange[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last && last.hi === r.lo) last.hi = r.hi
    else out.push({ ...r })
  }
  return out
}

const min = (xs: bigint[]) => xs.reduce((a, b) => (b < a ? b : a))
const max = (xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a))
