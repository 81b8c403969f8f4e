// Readiness is polled, never slept on: the app's health endpoint answers 200 with counts once the
// database is reachable and migrated. A dead app process ends the wait at once with its log tail.
import { RotvError, CancelledError } from '../errors.ts'

export interface HealthBody {
  status: string
  schemaVersion?: string | null
  counts?: Record<string, number>
}

export class AppNotReadyError extends RotvError {}

export interface WaitForHealthOptions {
  url: string
  /** The status that means ready (default 200). */
  status?: number
  timeoutMs?: number
  signal?: AbortSignal
  /** Returns a reason when the app process has died (then waiting is pointless). */
  died?: () => Promise<string | undefined> | string | undefined
  /** Shown in the error: where to look. */
  logHint?: string
}

export async function waitForHealth(opts: WaitForHealthOptions): Promise<HealthBody> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  let last = 'no answer yet'
  const started = Date.now()
  for (;;) {
    if (opts.signal?.aborted) throw new CancelledError('interrupted while waiting for the app')
    const dead = await opts.died?.()
    if (dead) throw new AppNotReadyError(`the app exited before it was ready: ${dead}`, { fix: opts.logHint })
    const answer = await fetchHealth(opts.url, opts.status)
    if (answer.ok) return answer.body
    last = answer.reason
    if (Date.now() > deadline) {
      throw new AppNotReadyError(`the app did not become ready at ${opts.url} (${last})`, { fix: opts.logHint })
    }
    // An app boots in well under a second: ask often then (a refused connection costs nothing), and
    // back off only for a slow one. A doubling delay made a 0.45 s boot look like 0.75 s.
    await new Promise((r) => setTimeout(r, Date.now() - started < 5_000 ? 25 : 250))
  }
}

export async function fetchHealth(url: string, status = 200): Promise<{ ok: true; body: HealthBody } | { ok: false; reason: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    const body = (await res.json().catch(() => ({}))) as HealthBody & { reason?: string }
    if (res.status === status) return { ok: true, body }
    return { ok: false, reason: `HTTP ${res.status}${body.reason ? `: ${body.reason}` : ''}` }
  } catch (err) {
    return { ok: false, reason: (err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message }
  }
}
