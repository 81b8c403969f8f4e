// The schema of the moment, from the production pg_dump itself (pre-data and post-data sections, in the
// refresh's exported snapshot), and the surgery that lets data blocks go between the two: the first
// part loses its completion trailer, the second its header's \restrict (pg_dump 17.6+/15.14+), and the
// one key of the first part closes the whole dump.
import { run } from '../process/index.ts'
import { RefreshSessionError } from './errors.ts'
import type { SessionCommand } from './session.ts'
import { DUMP_TRAILER } from '../snapshots/dump-inspector.ts'

export interface SchemaParts {
  /** Everything up to the data: the header, SETs, DROP/CREATE of tables, types, functions. */
  head: string
  /** Indexes, constraints, triggers, and the completion trailer. */
  tail: string
  bytes: number
}

export async function dumpSchema(pgDump: (extra: readonly string[]) => SessionCommand, snapshotId: string, signal?: AbortSignal): Promise<SchemaParts> {
  const [pre, post] = await Promise.all(['pre-data', 'post-data'].map((section) => capture(pgDump([`--section=${section}`, `--snapshot=${snapshotId}`]), signal)))
  return { ...join(pre!, post!), bytes: Buffer.byteLength(pre!) + Buffer.byteLength(post!) }
}

export function join(pre: string, post: string): { head: string; tail: string } {
  const trailerAt = pre.lastIndexOf(`--\n${DUMP_TRAILER}\n`)
  if (trailerAt < 0) throw new RefreshSessionError('pg_dump --section=pre-data', 'its output has no completion trailer', pre.slice(-500))
  const head = pre.slice(0, trailerAt)
  const key = /^\\restrict (\S+)$/m.exec(pre)?.[1]
  let tail = post
  const postKey = /^\\restrict (\S+)$/m.exec(post)?.[1]
  if (postKey) {
    tail = tail.replace(/^\\restrict \S+\n/m, '')
    tail = key ? tail.replace(`\\unrestrict ${postKey}`, `\\unrestrict ${key}`) : tail.replace(/^\\unrestrict \S+\n?/m, '')
  }
  return { head, tail }
}

async function capture(cmd: SessionCommand, signal?: AbortSignal): Promise<string> {
  const result = await run(cmd.command, cmd.args, { env: cmd.env, secrets: cmd.secrets, signal, nothrow: true, maxBytes: 512 * 1024 * 1024 })
  if (!result.ok) throw new RefreshSessionError(cmd.description, `failed (exit ${result.exitCode ?? result.signal})`, result.stderr)
  return result.stdout
}
