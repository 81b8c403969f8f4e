// job_logs rows: the bulky table the --size option scales. Built as large ASCII strings (one character
// is one byte, so the byte budget needs no re-encoding) with a cheap PRNG and incremental timestamps,
// because a 384 MB dump is mostly this table and has to come out in a few seconds.
import { timestamptz } from './copy-text.ts'
import { DEMO_EPOCH_MS } from './content.ts'
import { streamFor } from './prng.ts'

export const JOB_NAMES = ['news-scraper', 'event-import', 'image-resize', 'sitemap-build', 'newsletter', 'poi-sync', 'session-cleanup'] as const

export interface JobLogChunk {
  text: string
  /** Id of the last row in this chunk (rows are numbered from 1). */
  lastId: number
}

/**
 * Yields chunks of COPY rows until adding another row would pass `budgetBytes`.
 * Row content depends only on the seed and the row's position, never on the budget.
 */
export function* jobLogRows(seed: number, budgetBytes: number, chunkBytes = 1 << 20): Generator<JobLogChunk> {
  const rng = streamFor(seed, 'job_logs')
  // Messages come from a seeded pool per level: building every message from parts was most of the cost
  // of a large dump, and a pool of thousands still reads like real, repetitive job output.
  const pools = new Map<string, string[]>()
  for (const level of LEVELS) {
    const pool: string[] = []
    for (let i = 0; i < POOL_SIZE; i++) pool.push(message(rng.next(), rng.next(), level))
    pools.set(level, pool)
  }
  const clock = new MinuteClock()
  let id = 0
  let used = 0
  let runId = 0
  let job: string = JOB_NAMES[0]
  let linesLeftInRun = 0
  // Logs run up to the demo epoch; one line every ~2 s on average, starting far enough back.
  let t = DEMO_EPOCH_MS - 400 * 86_400_000
  let chunk = ''
  while (true) {
    if (linesLeftInRun === 0) {
      runId++
      job = JOB_NAMES[Math.floor(rng.next() * JOB_NAMES.length)]!
      linesLeftInRun = 5 + Math.floor(rng.next() * 80)
      t += Math.floor(rng.next() * 600_000)
    }
    linesLeftInRun--
    t += Math.floor(rng.next() * 4000)
    const r = rng.next()
    const level = r < 0.08 ? 'debug' : r < 0.9 ? 'info' : r < 0.97 ? 'warn' : 'error'
    let msg = pools.get(level)![Math.floor(rng.next() * POOL_SIZE)]!
    if (level === 'error') msg = `${job} failed: ${msg}`
    const row = `${id + 1}\t${job}\t${runId}\t${level}\t${msg}\t${clock.format(t)}\n`
    if (used + row.length > budgetBytes) break
    id++
    used += row.length
    chunk += row
    if (chunk.length >= chunkBytes) {
      yield { text: chunk, lastId: id }
      chunk = ''
    }
  }
  if (chunk) yield { text: chunk, lastId: id }
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
const POOL_SIZE = 4096

const SECONDS = Array.from({ length: 60 }, (_, s) => String(s).padStart(2, '0'))
/** '', '.001' … '.999' without trailing zeros, as PostgreSQL prints fractions. */
const FRACTIONS = Array.from({ length: 1000 }, (_, f) => (f === 0 ? '' : '.' + String(f).padStart(3, '0').replace(/0+$/, '')))

/** timestamptz text for increasing times, re-formatting the date and hour:minute only when they change. */
class MinuteClock {
  private minute = -1
  private prefix = ''

  format(ms: number): string {
    const minute = Math.floor(ms / 60_000)
    if (minute !== this.minute) {
      this.minute = minute
      this.prefix = timestamptz(minute * 60_000).slice(0, -'00+00'.length)
    }
    const rest = ms - minute * 60_000
    const s = Math.floor(rest / 1000)
    return this.prefix + SECONDS[s]! + FRACTIONS[rest - s * 1000]! + '+00'
  }
}

function message(a: number, b: number, level: string): string {
  const n = Math.floor(a * 100_000)
  const ms = Math.floor(b * 9000)
  if (level === 'error') {
    // Stack traces are why real job logs are bulky; newlines are escaped as COPY text needs.
    return `Error: connect ETIMEDOUT 10.0.${n % 256}.${ms % 256}:443\\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)\\n    at fetchPage (/srv/app/server/jobs/http.js:${n % 400}:17)\\n    at async runJob (/srv/app/server/jobs/runner.js:88:5)`
  }
  switch (Math.floor(a * 10_000) % 6) {
    case 0: return `fetched https://www.nps.gov/cuva/learn/news/${n}.htm in ${ms} ms (status 200, ${n % 90_000} bytes)`
    case 1: return `processed batch ${n % 500} of ${500 + (n % 97)}: ${ms % 250} inserted, ${n % 31} updated, ${ms % 7} skipped`
    case 2: return `resized image poi-${n % 371}.jpg to 1200x800 and 400x267 in ${ms} ms`
    case 3: return level === 'warn' ? `retrying request ${n} after HTTP 429 (attempt ${1 + (ms % 4)} of 5), backing off ${ms} ms` : `job heartbeat: queue depth ${n % 1000}, memory ${50 + (ms % 400)} MB`
    case 4: return `matched ${ms % 40} events to points of interest; ${n % 12} without a location`
    default: return `deleted ${n % 300} expired sessions; next run in ${ms % 60} min`
  }
}
