// Readiness as the project file declares it (an HTTP path answering the expected status, a TCP port that
// accepts, or a command that exits 0), polled and never slept on; and the ready line it declares.
import { connect } from 'node:net'
import pg from 'pg'
import { CancelledError } from '../errors.ts'
import { run } from '../process/index.ts'
import type { Readiness, ReadyLine } from '../project/define.ts'
import { AppNotReadyError, fetchHealth, type HealthBody } from './health.ts'

export interface WaitForReadyOptions {
  readiness: Readiness
  port: number
  /** The app's environment (for a readiness command). */
  env?: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs?: number
  signal?: AbortSignal
  died?: () => Promise<string | undefined> | string | undefined
  logHint?: string
}

/** Resolves once the app is ready; with http readiness, to the answer's JSON body. */
export async function waitForReady(opts: WaitForReadyOptions): Promise<{ health?: HealthBody }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  const started = Date.now()
  const where = describeReadiness(opts.readiness, opts.port)
  let last = 'no answer yet'
  for (;;) {
    if (opts.signal?.aborted) throw new CancelledError('interrupted while waiting for the app')
    const dead = await opts.died?.()
    if (dead) throw new AppNotReadyError(`the app exited before it was ready: ${dead}`, { fix: opts.logHint })
    const answer = await probe(opts)
    if (answer.ok) return { health: answer.body }
    last = answer.reason
    if (Date.now() > deadline) throw new AppNotReadyError(`the app did not become ready (${where}: ${last})`, { fix: opts.logHint })
    // An app boots in well under a second: ask often then, back off only for a slow one.
    await new Promise((r) => setTimeout(r, Date.now() - started < 5_000 ? 25 : 250))
  }
}

/** One readiness check, as `status` asks it. */
export async function probe(opts: Pick<WaitForReadyOptions, 'readiness' | 'port' | 'env' | 'cwd' | 'signal'>): Promise<{ ok: true; body?: HealthBody } | { ok: false; reason: string }> {
  const r = opts.readiness
  if ('http' in r) return fetchHealth(`http://127.0.0.1:${opts.port}${r.http}`, r.status ?? 200)
  if ('tcp' in r) return tcpOpen(opts.port)
  const result = await run(r.command, [...(r.args ?? [])], { cwd: opts.cwd, env: opts.env, signal: opts.signal, nothrow: true, timeoutMs: 10_000 })
  return result.ok ? { ok: true } : { ok: false, reason: `${result.command} exited with ${result.exitCode}` }
}

export function describeReadiness(r: Readiness, port: number): string {
  if ('http' in r) return `http://127.0.0.1:${port}${r.http}`
  if ('tcp' in r) return `tcp 127.0.0.1:${port}`
  return `\`${[r.command, ...(r.args ?? [])].join(' ')}\``
}

/** The ready line's text: the health answer's field, or row counts of the named tables; undefined for none. */
export async function readyLineText(line: ReadyLine | undefined, health: HealthBody | undefined, connection: pg.ClientConfig): Promise<string | undefined> {
  if (!line) return undefined
  if ('healthField' in line) {
    const value = (health as Record<string, unknown> | undefined)?.[line.healthField]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'object') return `${line.labels?.[line.healthField] ?? line.healthField} ${String(value)}`
    return countsText(value as Record<string, unknown>, line.labels)
  }
  const client = new pg.Client(connection)
  await client.connect()
  try {
    const counts: Record<string, number> = {}
    for (const table of line.tableCounts) {
      const res = await client.query(`SELECT count(*)::bigint AS n FROM ${table.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.')}`).catch(() => undefined)
      if (res) counts[table] = Number(res.rows[0].n)
    }
    return countsText(counts)
  } finally {
    await client.end().catch(() => {})
  }
}

/** "3 notes, 0 tags": labelled fields first, in the labels' order, then the rest. */
export function countsText(counts: Record<string, unknown>, labels: Record<string, string> = {}): string {
  const keys = [...Object.keys(labels).filter((k) => k in counts), ...Object.keys(counts).filter((k) => !(k in labels))]
  return keys.filter((k) => typeof counts[k] === 'number').map((k) => `${counts[k]} ${labels[k] ?? k}`).join(', ')
}

function tcpOpen(port: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(2_000)
    socket.once('connect', () => {
      socket.destroy()
      resolve({ ok: true })
    })
    socket.once('timeout', () => {
      socket.destroy()
      resolve({ ok: false, reason: 'connect timed out' })
    })
    socket.once('error', (err) => resolve({ ok: false, reason: (err as NodeJS.ErrnoException).code ?? err.message }))
  })
}
