// The `url` source: a local pg_dump against a postgres:// URL (an ssh tunnel, a managed database).
// The password is taken out of the URL and handed over in PGPASSWORD, so it never shows up in `ps`.
import { spawnDump } from './child-dump.ts'
import { PG_DUMP_FLAGS } from './pg-dump-flags.ts'
import type { DumpStream, OpenOptions, SnapshotSource, SourceSpec } from './types.ts'
import { RotvError } from '../errors.ts'

export function urlSource(spec: SourceSpec): SnapshotSource {
  const parsed = parseDatabaseUrl(spec)
  const describe = () => `url ${parsed.redacted}`
  return {
    spec,
    describe,
    async open(opts: OpenOptions = {}): Promise<DumpStream> {
      const env: NodeJS.ProcessEnv = { ...process.env }
      if (parsed.password !== undefined) env.PGPASSWORD = parsed.password
      const child = spawnDump({
        label: 'pg_dump',
        command: spec.pgDumpPath ?? 'pg_dump',
        args: [...PG_DUMP_FLAGS, `--dbname=${parsed.withoutPassword}`],
        env,
        signal: opts.signal,
        viaSsh: false,
        errorContext: { description: describe() },
      })
      return {
        stream: child.stdout,
        format: 'plain',
        meta: { kind: 'url', host: parsed.host, database: parsed.database, description: describe() },
        done: child.done,
      }
    },
  }
}

export interface ParsedDatabaseUrl {
  withoutPassword: string
  /** For messages: the URL with the password replaced by ***. */
  redacted: string
  password?: string
  host: string
  database: string
}

export function parseDatabaseUrl(spec: Pick<SourceSpec, 'name' | 'url'>): ParsedDatabaseUrl {
  const invalid = () =>
    new RotvError(`source "${spec.name}" (url) needs a postgres:// URL`, { fix: `set ${spec.name.toUpperCase()}_DATABASE_URL=postgres://user:password@host:port/db` })
  if (!spec.url) throw invalid()
  let url: URL
  try {
    url = new URL(spec.url)
  } catch {
    throw invalid() // the URL itself may hold a password: never echo it
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw invalid()
  const password = url.password ? decodeURIComponent(url.password) : undefined
  url.password = ''
  const withoutPassword = url.toString()
  const redactedUrl = new URL(withoutPassword)
  if (password !== undefined) redactedUrl.password = '***'
  return {
    withoutPassword,
    redacted: redactedUrl.toString(),
    password,
    host: url.hostname,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default)',
  }
}
