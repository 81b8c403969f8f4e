// A throwaway PostgreSQL server from Debian's packages (15 on Debian 12), standing in for "production"
// in tests. Real server, real pg_dump; it lives in a temp dir, listens on 127.0.0.1 only, and is removed
// by stop(). PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user that
// Debian's package creates.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, chown } from 'node:fs/promises'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestPostgres {
  host: '127.0.0.1'
  port: number
  /** Directory holding the server's unix socket. */
  socketDir: string
  binDir: string
  /** postgres://postgres@127.0.0.1:PORT/DB */
  url(db?: string): string
  /** Run psql (Debian's client) against DB with -v ON_ERROR_STOP=1. */
  psql(db: string, args: string[]): Promise<{ stdout: string; stderr: string }>
  stop(): Promise<void>
}

export interface StartOptions {
  /** Databases to create after start. */
  databases?: string[]
  binDir?: string
}

export async function startProductionPostgres(opts: StartOptions = {}): Promise<TestPostgres> {
  const binDir = opts.binDir ?? debianPostgresBinDir()
  const dir = await mkdtemp(join(tmpdir(), 'rotv-prodpg-'))
  const pgdata = join(dir, 'data')
  const socketDir = dir
  const asRoot = userInfo().uid === 0
  const sudo = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args)
  if (asRoot) await chown(dir, uidOf('postgres'), gidOf('postgres'))
  const port = await freePort()
  await sudo(join(binDir, 'initdb'), ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'])
  await sudo(join(binDir, 'pg_ctl'), [
    '-D', pgdata, '-l', join(dir, 'server.log'), '-w', '-t', '60',
    '-o', `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start',
  ])
  const pg: TestPostgres = {
    host: '127.0.0.1',
    port,
    socketDir,
    binDir,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    psql: (db, args) =>
      run(join(binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, ...args], {
        maxBuffer: 256 * 1024 * 1024,
      }),
    stop: async () => {
      await sudo(join(binDir, 'pg_ctl'), ['-D', pgdata, '-m', 'immediate', '-w', 'stop']).catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
  for (const db of opts.databases ?? []) await pg.psql('postgres', ['-c', `CREATE DATABASE "${db}"`])
  return pg
}

export function debianPostgresBinDir(): string {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) throw new Error('Debian PostgreSQL server not installed: apt-get install postgresql (the .ci/run script does)')
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  if (!versions[0]) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql')
  return join(root, versions[0], 'bin')
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

function uidOf(user: string): number {
  return Number(passwdEntry(user)[2])
}

function gidOf(user: string): number {
  return Number(passwdEntry(user)[3])
}

function passwdEntry(user: string): string[] {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))
  if (!line) throw new Error(`user ${user} not found; apt-get install postgresql creates it`)
  return line.split(':')
}
