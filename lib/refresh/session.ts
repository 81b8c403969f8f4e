// One long-lived psql talking over pipes: queries go in on stdin, each followed by an \echo of a unique
// marker, and the answer is every output line up to that marker. The same class serves the production
// side (psql over ssh, or a local psql against a URL) and the local cluster holding the previous
// snapshot, so both sides run the very same SQL text. Child processes go through lib/process.
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { Transform } from 'node:stream'
import { spawnProcess, type ManagedProcess } from '../process/index.ts'
import { RefreshSessionError } from './errors.ts'

export interface SessionCommand {
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
  secrets?: readonly (string | undefined)[]
  /** For messages: where this session runs, without secrets. */
  description: string
}

/** psql flags every session uses: no psqlrc, unaligned tuples only, stop at the first error. */
export const PSQL_SESSION_FLAGS: readonly string[] = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-F', '\x1f', '-P', 'pager=off']
export const FIELD_SEP = '\x1f'

export class SqlSession {
  /** Bytes read from the session's stdout (what crossed the wire, for a remote session). */
  bytesReceived = 0
  private readonly proc: ManagedProcess
  private readonly lines: AsyncIterator<string>
  private readonly marker = `__rotv_refresh_${randomBytes(6).toString('hex')}__`
  private seq = 0
  private busy: Promise<unknown> = Promise.resolve()

  constructor(private readonly cmd: SessionCommand, signal?: AbortSignal) {
    this.proc = spawnProcess(cmd.command, cmd.args, {
      env: cmd.env, secrets: cmd.secrets, signal, stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.proc.started.catch(() => {})
    const meter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.bytesReceived += chunk.length
        cb(null, chunk)
      },
    })
    this.proc.stdout!.pipe(meter)
    this.proc.child.stdin!.on('error', () => {}) // a dead psql surfaces as a missing marker, with its stderr
    this.lines = createInterface({ input: meter, crlfDelay: Infinity })[Symbol.asyncIterator]()
  }

  /** Runs SQL that returns rows; each row split on the field separator. */
  async rows(sql: string): Promise<string[][]> {
    const out: string[][] = []
    await this.stream(sql, (line) => void out.push(line.split(FIELD_SEP)))
    return out
  }

  /** Runs SQL and hands each output line (a COPY ... TO STDOUT row, or a result row) to onLine. */
  stream(sql: string, onLine: (line: string) => void | Promise<void>): Promise<void> {
    return this.exclusive(async () => {
      const end = `${this.marker}${++this.seq}`
      await this.write(`${sql.trimEnd().endsWith(';') ? sql : `${sql};`}\n\\echo ${end}\n`)
      await this.readUntil(end, onLine)
    })
  }

  /** COPY ... FROM STDIN with the given rows (COPY text lines, no newline). */
  copyIn(copySql: string, rows: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      const end = `${this.marker}${++this.seq}`
      await this.write(`${copySql}\n`)
      for (let i = 0; i < rows.length; i += 1000) await this.write(`${rows.slice(i, i + 1000).join('\n')}\n`)
      await this.write(`\\.\n\\echo ${end}\n`)
      await this.readUntil(end, () => {})
    })
  }

  /** Ends the session (its transaction, if any, is rolled back by psql's exit) and waits for it. */
  async close(): Promise<void> {
    this.proc.child.stdin!.end()
    const t = setTimeout(() => void this.proc.stop(), 10_000)
    await this.proc.done
    clearTimeout(t)
  }

  /** Stops it at once (on failure or cancel). */
  async kill(): Promise<void> {
    await this.proc.stop(2000)
    await this.proc.done
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.busy.then(fn, fn)
    this.busy = next.catch(() => undefined)
    return next
  }

  private write(text: string): Promise<void> {
    const stdin = this.proc.child.stdin!
    if (stdin.destroyed || stdin.writableEnded) return Promise.resolve()
    return new Promise((resolve) => (stdin.write(text) ? resolve() : stdin.once('drain', () => resolve())))
  }

  private async readUntil(end: string, onLine: (line: string) => void | Promise<void>): Promise<void> {
    for (;;) {
      const next = await this.lines.next()
      if (next.done) {
        const result = await this.proc.done
        const what = result.cancelled ? 'cancelled' : `psql ended early (exit ${result.exitCode ?? result.signal})`
        throw new RefreshSessionError(this.cmd.description, what, result.stderr)
      }
      if (next.value === end) return
      await onLine(next.value)
    }
  }
}
