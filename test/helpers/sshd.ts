// A real OpenSSH sshd on 127.0.0.1 for tests: generated host and client keys, its own sshd_config and a
// client ssh_config in a temp dir, so `ssh -F <configFile> 127.0.0.1` logs in as the current user
// (root in CI) without a prompt. Nothing outside the temp dir is touched except /run/sshd, which sshd
// insists on for privilege separation.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './production-postgres.ts'

const run = promisify(execFile)
const SSHD = '/usr/sbin/sshd' // sshd refuses to run unless started by absolute path

export interface TestSshd {
  host: '127.0.0.1'
  port: number
  user: string
  dir: string
  /** pid of the listening sshd; each connection is served by a child of it. */
  pid: number
  /** Client config: right key, known_hosts holding the server key, BatchMode, StrictHostKeyChecking. */
  configFile: string
  /** Same, but offering a key the server does not accept. */
  wrongKeyConfigFile: string
  /** Same right key, but an empty known_hosts and StrictHostKeyChecking=yes. */
  unknownHostConfigFile: string
  /** sshd's own log (-e writes it to stderr), for debugging failed tests. */
  log(): string
  /** Stops sshd (listener gone: connections are refused) but keeps the temp dir. */
  stopListening(): Promise<void>
  stop(): Promise<void>
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error('openssh-server is not installed: apt-get install openssh-server openssh-client (the .ci/run script does)')
  const dir = await mkdtemp(join(tmpdir(), 'rotv-sshd-'))
  const user = userInfo().username
  const keygen = (file: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rotv-test', '-f', file])
  await Promise.all([keygen(join(dir, 'host_key')), keygen(join(dir, 'client_key')), keygen(join(dir, 'wrong_key'))])
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')), { mode: 0o600 })
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
  const port = await freePort()

  const sshdConfig = join(dir, 'sshd_config')
  await writeFile(sshdConfig, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel VERBOSE',
    '',
  ].join('\n'))

  const hostPub = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ')
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`)
  await writeFile(join(dir, 'known_hosts_empty'), '')
  const clientConfig = (key: string, knownHosts: string) => [
    'Host *',
    `  Port ${port}`,
    `  User ${user}`,
    `  IdentityFile ${join(dir, key)}`,
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    `  UserKnownHostsFile ${join(dir, knownHosts)}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  LogLevel ERROR',
    '',
  ].join('\n')
  const configFile = join(dir, 'ssh_config')
  const wrongKeyConfigFile = join(dir, 'ssh_config_wrong_key')
  const unknownHostConfigFile = join(dir, 'ssh_config_unknown_host')
  await writeFile(configFile, clientConfig('client_key', 'known_hosts'))
  await writeFile(wrongKeyConfigFile, clientConfig('wrong_key', 'known_hosts'))
  await writeFile(unknownHostConfigFile, clientConfig('client_key', 'known_hosts_empty'))

  let log = ''
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', sshdConfig], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => (log = (log + s).slice(-200_000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await waitForBanner(port, child, () => log)
  } catch (err) {
    child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
    throw err
  }

  let listening = true
  const stopListening = async () => {
    if (!listening) return
    listening = false
    // sshd -D: SIGTERM ends the listener; session children belong to the tests that started them.
    child.kill('SIGTERM')
    await exited
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    dir,
    pid: child.pid!,
    configFile,
    wrongKeyConfigFile,
    unknownHostConfigFile,
    log: () => log,
    stopListening,
    stop: async () => {
      await stopListening()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${log()}`)
    const banner = await new Promise<string>((resolve) => {
      const sock = connect(port, '127.0.0.1')
      let data = ''
      sock.setEncoding('utf8')
      sock.on('data', (d: string) => {
        data += d
        if (data.includes('\n')) sock.destroy()
      })
      sock.on('close', () => resolve(data))
      sock.on('error', () => resolve(''))
      sock.setTimeout(2000, () => sock.destroy())
    })
    if (banner.startsWith('SSH-2.0-')) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port}:\n${log()}`)
}
