// A real registry for tests: Debian's docker-registry (the reference distribution registry) on
// 127.0.0.1, with htpasswd auth and a self-signed certificate, or plain HTTP without auth.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './production-postgres.ts'

const run = promisify(execFile)

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string
  tls: boolean
  /** The self-signed certificate (PEM), for REGISTRY_CA_FILE. */
  caFile?: string
  /** An auth file (podman login format) with the right password; `wrongAuthFile` with a wrong one. */
  authFile?: string
  wrongAuthFile?: string
  /** Where the registry keeps blobs (…/docker/registry/v2/blobs/sha256/xx/<hex>/data). */
  storage: string
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

export async function startRegistry(opts: { tls: boolean; user?: string; password?: string }): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'rotv-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const storage = join(dir, 'storage')
  const config = ['version: 0.1', 'log: { level: error, accesslog: { disabled: true } }', `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`]
  const http = [`  addr: ${host}`]
  let caFile: string | undefined
  let authFile: string | undefined
  let wrongAuthFile: string | undefined
  if (opts.tls) {
    caFile = join(dir, 'cert.pem')
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', caFile])
    http.push(`  tls: { certificate: ${caFile}, key: ${join(dir, 'key.pem')} }`)
  }
  if (opts.user && opts.password) {
    const htpasswd = join(dir, 'htpasswd')
    // -i: the password from stdin, never on a command line.
    await new Promise<void>((resolve, reject) => {
      const p = spawn('htpasswd', ['-B', '-i', '-c', htpasswd, opts.user!], { stdio: ['pipe', 'ignore', 'pipe'] })
      p.once('error', reject)
      p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`htpasswd exited ${code}`))))
      p.stdin.end(opts.password)
    })
    config.push(`auth: { htpasswd: { realm: rotv-test, path: ${htpasswd} } }`)
    authFile = join(dir, 'auth.json')
    wrongAuthFile = join(dir, 'wrong-auth.json')
    const auth = (pw: string) => JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${opts.user}:${pw}`).toString('base64') } } })
    await writeFile(authFile, auth(opts.password), { mode: 0o600 })
    await writeFile(wrongAuthFile, auth(`${opts.password}-wrong`), { mode: 0o600 })
  }
  config.push('http:', ...http)
  const configFile = join(dir, 'config.yml')
  await writeFile(configFile, `${config.join('\n')}\n`)

  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)))
    const started = Date.now()
    for (;;) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`)
      if (await answers(host, opts.tls)) return
      if (Date.now() - started > 15000) throw new Error(`docker-registry did not answer on ${host}: ${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    const gone = new Promise((r) => c.once('close', r))
    c.kill('SIGKILL')
    await gone
  }
  await start()
  return {
    host, tls: opts.tls, caFile, authFile, wrongAuthFile, storage, start, stop,
    close: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function answers(host: string, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const [hostname, port] = host.split(':')
    const req = (tls ? request : httpRequest)({ hostname, port: Number(port), path: '/v2/', rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200 || res.statusCode === 401)
    })
    req.once('error', () => resolve(false))
    req.once('timeout', () => req.destroy())
    req.end()
  })
}
