// Where the production side of a refresh runs: the same place and login a full pull's pg_dump uses
// (ssh to the host, optionally `podman exec` into the container, or a local client against a URL), so
// a refresh needs nothing a full pull does not already have, besides psql next to pg_dump.
import { dirname, join } from 'node:path'
import { shellJoin } from '../sources/shell-quote.ts'
import { sshBaseArgs } from '../sources/ssh.ts'
import { parseDatabaseUrl } from '../sources/url.ts'
import { PG_DUMP_FLAGS } from '../sources/pg-dump-flags.ts'
import type { SourceSpec } from '../sources/types.ts'
import { RefreshNotPossibleError } from './errors.ts'
import { PSQL_SESSION_FLAGS, type SessionCommand } from './session.ts'

export interface Endpoint {
  /** A psql session against the production database. */
  psql(): SessionCommand
  /** pg_dump with the pull's flags plus `extra` (e.g. --section, --snapshot). */
  pgDump(extra: readonly string[]): SessionCommand
  description: string
}

export const REFRESHABLE_KINDS = ['ssh', 'ssh+podman', 'url'] as const

export function endpointFor(spec: SourceSpec): Endpoint {
  if (spec.kind === 'url') return urlEndpoint(spec)
  if (spec.kind === 'ssh' || spec.kind === 'ssh+podman') return sshEndpoint(spec)
  throw new RefreshNotPossibleError(`a ${spec.kind} source has no server to compare with`)
}

function urlEndpoint(spec: SourceSpec): Endpoint {
  const url = parseDatabaseUrl(spec)
  // The whole URL counts as a secret (it may carry a password), so none of it goes on a command line:
  // libpq takes every part from the environment.
  const env: NodeJS.ProcessEnv = { ...process.env, ...libpqEnv(spec.url!) }
  if (url.password !== undefined) env.PGPASSWORD = url.password
  const pgDump = spec.pgDumpPath ?? 'pg_dump'
  const psql = spec.pgDumpPath ? join(dirname(spec.pgDumpPath), 'psql') : 'psql'
  const description = `url ${url.redacted}`
  return {
    description,
    psql: () => ({ command: psql, args: [...PSQL_SESSION_FLAGS], env, secrets: [url.password], description: `psql ${url.redacted}` }),
    pgDump: (extra) => ({ command: pgDump, args: [...PG_DUMP_FLAGS, ...extra], env, secrets: [url.password], description: `pg_dump ${url.redacted}` }),
  }
}

const LIBPQ_PARAMS: Record<string, string> = {
  sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', sslcrl: 'PGSSLCRL',
  connect_timeout: 'PGCONNECT_TIMEOUT', application_name: 'PGAPPNAME', options: 'PGOPTIONS', target_session_attrs: 'PGTARGETSESSIONATTRS',
  gssencmode: 'PGGSSENCMODE', channel_binding: 'PGCHANNELBINDING', host: 'PGHOST', port: 'PGPORT', user: 'PGUSER', dbname: 'PGDATABASE',
}

export function libpqEnv(raw: string): Record<string, string> {
  const u = new URL(raw)
  const env: Record<string, string> = {}
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''))
  if (u.port) env.PGPORT = u.port
  if (u.username) env.PGUSER = decodeURIComponent(u.username)
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''))
  if (db) env.PGDATABASE = db
  for (const [k, v] of u.searchParams) {
    const name = LIBPQ_PARAMS[k]
    if (!name) throw new RefreshNotPossibleError(`the URL parameter "${k}" has no libpq environment variable to pass it in`)
    env[name] = v
  }
  return env
}

function sshEndpoint(spec: SourceSpec): Endpoint {
  const db = spec.database ?? 'rotv'
  const conn = ['-U', spec.dbUser ?? 'rotv', ...(spec.dbHost ? ['-h', spec.dbHost] : []), ...(spec.dbPort ? ['-p', String(spec.dbPort)] : [])]
  // -i: psql reads its queries from the pipe ssh forwards into the container.
  const inContainer = (argv: string[], stdin: boolean) =>
    spec.kind === 'ssh+podman' ? [spec.engine ?? 'podman', 'exec', ...(stdin ? ['-i'] : []), spec.container!, ...argv] : argv
  const where = `${spec.kind} ${spec.user ? `${spec.user}@` : ''}${spec.host}`
  const ssh = (remote: string[], label: string): SessionCommand => ({
    command: 'ssh',
    // ssh -C: the session's answers are checksums and COPY text, both compress well.
    args: [...sshBaseArgs(spec), ...(spec.compressOnWire === false ? [] : ['-C']), '--', spec.host!, `exec ${shellJoin(remote)}`],
    description: `${where} (${label})`,
  })
  return {
    description: where,
    psql: () => ssh(inContainer(['psql', ...PSQL_SESSION_FLAGS, ...conn, '-d', db], true), 'psql'),
    pgDump: (extra) => ssh(inContainer(['pg_dump', ...PG_DUMP_FLAGS, ...extra, ...conn, '--', db], false), 'pg_dump'),
  }
}

/** Host and database as the full pull's source records them in the manifest. */
export function origin(spec: SourceSpec): { host: string; database?: string } {
  if (spec.kind === 'url') {
    const u = parseDatabaseUrl(spec)
    return { host: u.host, database: u.database }
  }
  return { host: spec.host ?? '', database: spec.database ?? 'rotv' }
}
