// Real podman for the container tests: the test-local containers.conf (runc, ulimits that fit these
// hosts; selected with CONTAINERS_CONF, no system file edited), a local Debian trixie base image built
// from the Debian archive (no registry is reachable here), the rotv image built through the real
// `build` task, and a lock so that test files running in parallel build one at a time (the second
// then gets every layer from the cache instead of building the same layers twice).
import { execFile, spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { isolatedEnv, repo, runCli, type CliResult } from './cli.ts'
import { freePort } from './production-postgres.ts'

const run = promisify(execFile)

export const CONTAINERS_CONF = join(repo, 'test', 'fixtures', 'podman', 'containers.conf')
export const BASE_IMAGE = 'localhost/debian:trixie'
/** The rotv image the tests build and run (never the default tag, so RUNTIME=auto elsewhere is unaffected). */
export const TEST_IMAGE = 'localhost/rotv-test:latest'
/** debootstrap's output is kept here between runs (and .ci/run builds it once per machine). */
const ROOTFS_CACHE = '/var/tmp/rotv-trixie-rootfs'
const LOCK_DIR = join(tmpdir(), 'rotv-podman-build.lock')

export const podmanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_CONF })

/** podman with the test configuration; rejects with its stderr on failure. */
export async function podman(args: string[], timeoutMs = 600_000): Promise<{ stdout: string; stderr: string }> {
  try {
    const r = await run('podman', args, { env: podmanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
    return { stdout: String(r.stdout), stderr: String(r.stderr) }
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`podman ${args.join(' ')} failed: ${e.stderr || e.message}`)
  }
}

export async function imageExists(image: string): Promise<boolean> {
  return run('podman', ['image', 'exists', image], { env: podmanEnv() }).then(() => true, () => false)
}

/** localhost/debian:trixie from `debootstrap --variant=minbase trixie` + `podman import`; kept once made. */
export async function ensureBaseImage(): Promise<void> {
  if (await imageExists(BASE_IMAGE)) return
  await withLock(async () => {
    if (await imageExists(BASE_IMAGE)) return
    if (!existsSync(join(ROOTFS_CACHE, 'etc', 'debian_version'))) {
      const tmp = `${ROOTFS_CACHE}.tmp-${process.pid}`
      rmSync(tmp, { recursive: true, force: true })
      await run('debootstrap', ['--variant=minbase', 'trixie', tmp], { timeout: 900_000, maxBuffer: 64 * 1024 * 1024 })
      rmSync(ROOTFS_CACHE, { recursive: true, force: true })
      await run('mv', [tmp, ROOTFS_CACHE])
    }
    await run('sh', ['-c', `tar -C ${ROOTFS_CACHE} -c . | podman import - ${BASE_IMAGE}`], { env: podmanEnv(), timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })
  })
}

/** Environment for the CLI driving the container runtime, isolated like the host tests'. */
export async function containerEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const home = mkdtempSync(join(tmpdir(), 'rotv-ctest-home-'))
  return isolatedEnv({
    CONTAINERS_CONF,
    ROTV_HOME: home,
    RUNTIME: 'container',
    ROTV_IMAGE: TEST_IMAGE,
    ROTV_BASE_IMAGE: BASE_IMAGE,
    ROTV_CONTAINER_NAME: `rotv-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    APP_PORT: String(await freePort()),
    PG_PORT: String(await freePort()),
    // npm inside the build trusts what this machine trusts (e.g. a TLS-intercepting proxy's CA).
    ...(caBundle() ? { NODE_EXTRA_CA_CERTS: caBundle() } : {}),
    ...extra,
  })
}

function caBundle(): string | undefined {
  const candidates = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt']
  return candidates.find((f): f is string => Boolean(f && existsSync(f)))
}

/** `build` through the CLI, serialized with the other test files; returns the CLI result. */
export async function buildThroughCli(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CliResult> {
  await ensureBaseImage()
  return withLock(() => (cwd ? runCliIn(cwd, ['build', '--json', ...args], env) : runCli(['build', '--json', ...args], env)))
}

/** The test image, built (or found complete in the layer cache) once per test file. */
export async function ensureTestImage(env: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await buildThroughCli(['--base-image', BASE_IMAGE, '--tag', TEST_IMAGE], env)
  if (r.code !== 0) throw new Error(`build failed:\n${r.all.slice(-4000)}`)
  return r
}

/**
 * A copy of the repository's build inputs (what the Containerfile COPYs, plus the task runner), with
 * node_modules linked: bump-version rewrites files, which must never be the real repository's.
 */
export function copyRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotv-repo-copy-'))
  for (const f of ['Containerfile', 'entrypoint', '.containerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'Taskfile.ts', '.env.example']) {
    cpSync(join(repo, f), join(dir, f), { preserveTimestamps: true })
  }
  for (const d of ['lib', 'tasks']) cpSync(join(repo, d), join(dir, d), { recursive: true, preserveTimestamps: true })
  cpSync(join(repo, 'app'), join(dir, 'app'), {
    recursive: true,
    preserveTimestamps: true,
    filter: (src) => !/\/app\/(public|node_modules)(\/|$)/.test(src),
  })
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

/** The CLI of a repository copy. */
export function runCliIn(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(join(repo, 'node_modules', '.bin', 'tsx'), [join(dir, 'Taskfile.ts'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr, all: stdout + stderr }))
  })
}

/** `ps` output of every process on this machine (full command lines). */
export function psAll(): string {
  return spawnSync('ps', ['-eo', 'args', '--no-headers', '-ww'], { encoding: 'utf8' }).stdout
}

/** Remove a container whatever its state (teardown). */
export async function removeContainer(name: string): Promise<void> {
  await run('podman', ['rm', '--force', '--time', '5', name], { env: podmanEnv() }).catch(() => {})
}

/** A directory lock (mkdir is atomic); a holder that died leaves its pid behind and is taken over. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 40 * 60_000
  for (;;) {
    try {
      mkdirSync(LOCK_DIR)
      writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number(readFileSafe(join(LOCK_DIR, 'pid')))
      if (holder && !alive(holder)) {
        rmSync(LOCK_DIR, { recursive: true, force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`podman build lock ${LOCK_DIR} held too long by pid ${holder}`)
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true })
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The unprivileged user the rootless tests run podman as (made by .ci/run, or here when missing). */
export const ROOTLESS_USER = 'rotv-rootless'

export interface RootlessUser {
  name: string
  uid: number
  gid: number
  home: string
  /** First subordinate uid: the container's UID n (n >= 1) is host uid subuidStart + n - 1. */
  subuidStart: number
}

/**
 * The rootless test user: /etc/subuid and /etc/subgid ranges (useradd adds them), native overlay storage
 * in its own ~/.config/containers/storage.conf (else podman may fall back to vfs, which copies every
 * layer), and the test image loaded into its storage from the rootful one (`podman save | podman load`,
 * instead of building the same layers a second time).
 */
export async function ensureRootlessUser(): Promise<RootlessUser> {
  if (spawnSync('id', ['-u', ROOTLESS_USER]).status !== 0) {
    await run('useradd', ['--create-home', '--shell', '/bin/sh', ROOTLESS_USER])
  }
  const subuid = readFileSafe('/etc/subuid').split('\n').find((l) => l.startsWith(`${ROOTLESS_USER}:`))
  if (!subuid) {
    await run('usermod', ['--add-subuids', '100000-165535', '--add-subgids', '100000-165535', ROOTLESS_USER])
  }
  const line = readFileSafe('/etc/subuid').split('\n').find((l) => l.startsWith(`${ROOTLESS_USER}:`))!
  const passwd = (await run('getent', ['passwd', ROOTLESS_USER])).stdout.trim().split(':')
  const user: RootlessUser = { name: ROOTLESS_USER, uid: Number(passwd[2]), gid: Number(passwd[3]), home: passwd[5]!, subuidStart: Number(line.split(':')[1]) }
  const confDir = join(user.home, '.config', 'containers')
  if (!existsSync(join(confDir, 'storage.conf'))) {
    await run('su', [ROOTLESS_USER, '-c', `mkdir -p ${confDir} && printf '[storage]\\ndriver = "overlay"\\n' > ${confDir}/storage.conf`])
  }
  const rootfulId = (await podman(['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE])).stdout.trim()
  const theirs = await rootlessPodman(user, ['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE]).catch(() => ({ stdout: '' }))
  if (theirs.stdout.trim() !== rootfulId) {
    await withLock(() => run('sh', ['-c', `podman save ${TEST_IMAGE} | su ${ROOTLESS_USER} -c 'CONTAINERS_CONF=${CONTAINERS_CONF} podman load'`], { env: podmanEnv(), timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }))
  }
  return user
}

/** Environment for a process of the rootless user (its HOME; podman finds its storage from it). */
export function rootlessEnv(user: RootlessUser, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name }
  // root's runtime dir is not the user's; without one, rootless podman uses its own under /tmp.
  delete out.XDG_RUNTIME_DIR
  return out
}

/** podman as the rootless user. */
export async function rootlessPodman(user: RootlessUser, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await run('podman', args, { env: rootlessEnv(user, podmanEnv()), uid: user.uid, gid: user.gid, cwd: user.home, maxBuffer: 64 * 1024 * 1024 })
  return { stdout: String(r.stdout), stderr: String(r.stderr) }
}

/** The CLI (this repository's) run as the rootless user. */
export function runCliAs(user: RootlessUser, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'Taskfile.ts'), ...args], {
      cwd: repo,
      env: rootlessEnv(user, env),
      uid: user.uid,
      gid: user.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr, all: stdout + stderr }))
  })
}
