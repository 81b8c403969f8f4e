// Team sharing through a real registry: Debian's docker-registry on 127.0.0.1 (htpasswd + self-signed TLS,
// and once plain HTTP), the real CLI, skopeo. Push, rm, pull gives the same bytes; wrong credentials and a
// snapshot that may not leave the machine are refused with the fix; two data homes: one pushes, the other
// (SEED_SOURCE=registry, no production at all) starts warm on the first start.
import t from 'tap'
import { createWriteStream } from 'node:fs'
import { open, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { pipeline } from 'node:stream/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isolatedEnv, runCli, type CliResult } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'
import { startRegistry } from './helpers/registry.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { describeError, RotvError } from '../lib/errors.ts'
import { generateDemoDump } from '../lib/demo/generate.ts'
import { pushSnapshot, registrySource, ArtifactDigestError, RegistryUnreachableError, type RegistryAccess } from '../lib/registry/index.ts'

const REPO = 'team/rotv-snapshots'
const password = 'registry-test-pw-7c1e9a'

function taskResult(r: CliResult, task: string) {
  return JSON.parse(r.stdout).tasks.find((x: { name: string }) => x.name === task).result
}

t.test('TLS + htpasswd: push, rm, pull (same sha256); wrong password; personal data refused', async (t) => {
  const reg = await startRegistry({ tls: true, user: 'team', password })
  t.teardown(() => reg.close())
  const home = await mkdtemp(join(tmpdir(), 'rotv-registry-home-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  const env = isolatedEnv({ ROTV_HOME: home, REGISTRY_AUTH_FILE: reg.authFile, REGISTRY_CA_FILE: reg.caFile })
  const cli = (...args: string[]) => runCli(args, env)
  const ref = `${reg.host}/${REPO}:team`
  const store = openStore(home)

  const seeded = await cli('seed', 'demo', '--as', 'team')
  t.equal(seeded.code, 0, seeded.all)
  const before = await store.get('team')

  const pushed = await cli('snapshots', 'push', 'team', ref, '--json')
  t.equal(pushed.code, 0, pushed.all)
  const push = taskResult(pushed, 'snapshots')
  t.ok(push.chunks >= 1, `the SQL travels in chunks (${push.chunks})`)
  t.equal(push.uploadedBlobs, push.blobs, 'a first push uploads every blob')

  t.equal((await cli('snapshots', 'rm', 'team')).code, 0)
  t.equal(await store.get('team'), undefined)
  const pulled = await cli('snapshots', 'pull', ref)
  t.equal(pulled.code, 0, pulled.all)
  t.match(pulled.all, /pulled "team" from/)
  const after = await store.get('team')
  t.equal(after?.sha256, before?.sha256, 'the pulled snapshot has the pushed one\'s sha256')
  t.equal(after?.synthetic, true, 'demo data stays marked synthetic')
  t.equal((await cli('snapshots', 'verify', 'team')).code, 0)

  // Wrong password: a clear refusal naming the fix, the password never printed, the store untouched.
  const wrongEnv = { ...env, REGISTRY_AUTH_FILE: reg.wrongAuthFile }
  const wrongPush = await runCli(['snapshots', 'push', 'team', `${reg.host}/${REPO}:other`], wrongEnv)
  t.equal(wrongPush.code, 1, wrongPush.all)
  t.match(wrongPush.all, new RegExp(`the registry ${reg.host} refused the credentials`))
  t.match(wrongPush.all, /podman login|REGISTRY_AUTH_FILE/)
  const wrongPull = await runCli(['snapshots', 'pull', ref, '--as', 'copy'], wrongEnv)
  t.equal(wrongPull.code, 1, wrongPull.all)
  t.match(wrongPull.all, /refused the credentials/)
  t.equal(await store.get('copy'), undefined, 'a refused pull stores nothing')
  for (const r of [wrongPush, wrongPull]) t.notMatch(r.all, password)

  // The registry's self-signed certificate without REGISTRY_CA_FILE: a TLS failure that names the variable.
  const noCa = await runCli(['snapshots', 'pull', ref, '--as', 'copy'], { ...env, REGISTRY_CA_FILE: undefined })
  t.equal(noCa.code, 1, noCa.all)
  t.match(noCa.all, /TLS with the registry .* failed/)
  t.match(noCa.all, /REGISTRY_CA_FILE/)

  // A snapshot that is not anonymized (a file handed over) may not leave: the same check as export.
  const sql = join(home, 'handed.sql')
  t.equal((await cli('snapshots', 'export', 'team', '--out', sql)).code, 0)
  t.equal((await cli('seed', '--from-file', sql, '--as', 'handed', '--no-anonymize')).code, 0)
  const raw = `${reg.host}/${REPO}:handed`
  const refused = await cli('snapshots', 'push', 'handed', raw)
  t.equal(refused.code, 1, refused.all)
  t.match(refused.all, /snapshot "handed" is not anonymized: .* may not leave this machine \(push refused\)/)
  t.match(refused.all, /--allow-personal-data/)
  const nothing = await cli('snapshots', 'pull', raw, '--as', 'copy')
  t.equal(nothing.code, 1, nothing.all)
  t.match(nothing.all, /the registry has no snapshot at/, 'the refused push sent nothing')
  const forced = await cli('snapshots', 'push', 'handed', raw, '--allow-personal-data')
  t.equal(forced.code, 0, forced.all)
  t.match(forced.all, /NOT anonymized.*everyone who can pull/)
  t.match(forced.all, /uploaded \d+ \(.*\), the registry already held the rest/)
})

t.test('plain HTTP: one data home pushes its warm cluster, the other (SEED_SOURCE=registry) starts warm', async (t) => {
  const reg = await startRegistry({ tls: false })
  t.teardown(() => reg.close())
  const ref = `${reg.host}/${REPO}:production`
  const homes: string[] = []
  const homeEnv = async (dotenv: string) => {
    const home = await mkdtemp(join(tmpdir(), 'rotv-registry-home-'))
    homes.push(home)
    const envFile = join(home, 'test.env')
    await writeFile(envFile, dotenv)
    const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(await freePort()) })
    return { home, env, cli: (...args: string[]) => runCli(['--dotenv', envFile, ...args], env) }
  }
  const a = await homeEnv('')
  const b = await homeEnv(`SEED_SOURCE=registry\nPRODUCTION_REGISTRY=${ref}\nREGISTRY_TLS_VERIFY=false\n`)
  t.teardown(async () => {
    for (const h of [a, b]) await h.cli('stop')
    for (const h of homes) await rm(h, { recursive: true, force: true })
  })

  // Home A: the demo snapshot, started once (cold import; stop waits for the warm cluster's save).
  const coldA = await a.cli('start', '--db-only', '--json')
  t.equal(coldA.code, 0, coldA.all)
  t.equal(taskResult(coldA, 'start').prepared, 'imported')
  t.equal((await a.cli('stop')).code, 0)
  const withoutTls = await a.cli('snapshots', 'push', 'demo', ref)
  t.equal(withoutTls.code, 1, 'TLS is checked by default')
  t.match(withoutTls.all, /plain HTTP|--tls-verify=false/)
  const pushed = await a.cli('snapshots', 'push', 'demo', ref, '--tls-verify=false', '--json')
  t.equal(pushed.code, 0, pushed.all)
  const push = taskResult(pushed, 'snapshots')
  t.match(push.cluster, { arch: process.arch }, 'the warm cluster went along')
  t.match(push.cluster.pgVersion, /^\d+/)

  // Home B has no production settings at all: start pulls from the registry and its first start is warm.
  const startB = await b.cli('start', '--db-only', '--json')
  t.equal(startB.code, 0, startB.all)
  const b1 = taskResult(startB, 'start')
  t.equal(b1.prepared, 'warm', 'the first start in the second data home is warm')
  const stored = await openStore(b.home).get('production')
  t.equal(stored?.sha256, (await openStore(a.home).get('demo'))?.sha256, 'the same snapshot bytes')
  t.equal(stored?.source.kind, 'registry')
  t.ok((await stat(join(b.home, 'clusters'))).isDirectory())
  // seed takes the team's latest snapshot from the registry too, keeping the production pull's time (its age).
  const seeded = await b.cli('seed')
  t.equal(seeded.code, 0, seeded.all)
  t.match(seeded.all, /snapshot "production"/)
  const reseeded = await openStore(b.home).get('production')
  t.equal(reseeded?.source.kind, 'registry')
  t.equal(reseeded?.pulledAt, (await openStore(a.home).get('demo'))?.pulledAt, 'the age is the production pull\'s')
})

/** A TCP proxy in front of the registry that stops the registry after `afterBytes` in one direction. */
async function cutProxy(target: string, direction: 'up' | 'down', afterBytes: number, stopRegistry: () => Promise<void>) {
  const [host, port] = target.split(':')
  const sockets = new Set<net.Socket>()
  let seen = 0
  let cut = false
  const server = net.createServer((client) => {
    if (cut) return void client.destroy()
    const upstream = net.connect(Number(port), host)
    for (const [s, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(s)
      s.on('error', () => {})
      // One side gone (the registry stopped): the other goes too, as a dead registry's connection would.
      s.on('close', () => {
        sockets.delete(s)
        other.destroy()
      })
    }
    ;(direction === 'up' ? client : upstream).on('data', (d: Buffer) => {
      if (cut || (seen += d.length) < afterBytes) return
      cut = true
      void stopRegistry().finally(() => sockets.forEach((s) => s.destroy()))
    })
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => cut,
    close: () => new Promise<void>((resolve) => { sockets.forEach((s) => s.destroy()); server.close(() => resolve()) }),
  }
}

/** A TCP proxy in front of the registry that passes about `bytesPerSecond` each way. */
async function throttleProxy(target: string, bytesPerSecond: number) {
  const [host, port] = target.split(':')
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host)
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from)
      from.on('error', () => {})
      from.on('close', () => {
        sockets.delete(from)
        to.destroy()
      })
      from.on('data', (d: Buffer) => {
        to.write(d)
        from.pause()
        setTimeout(() => from.resume(), (d.length / bytesPerSecond) * 1000)
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { sockets.forEach((s) => s.destroy()); server.close(() => resolve()) }),
  }
}

async function largestBlob(storage: string): Promise<string> {
  const root = join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256')
  let best = { path: '', size: -1 }
  for (const a of await readdir(root)) for (const b of await readdir(join(root, a))) {
    const path = join(root, a, b, 'data')
    const { size } = await stat(path)
    if (size > best.size) best = { path, size }
  }
  return best.path
}

t.test('a changed snapshot uploads only changed chunks; tampered and cut-off transfers leave everything as it was', async (t) => {
  const reg = await startRegistry({ tls: false })
  t.teardown(() => reg.close())
  const home = await mkdtemp(join(tmpdir(), 'rotv-registry-home-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  const store = openStore(home)
  const access: RegistryAccess & { workDir: string; clusterCacheDir: string } = { tlsVerify: false, workDir: join(home, 'registry'), clusterCacheDir: join(home, 'clusters') }
  const ref = `${reg.host}/${REPO}:big`
  const fileSnapshot = async (file: string, as: string) => store.pull({ name: as, kind: 'file', file }, { as })
  const push = (name: string, to = ref) => pushSnapshot({ store, name, ref: to, access, allowPersonalData: true })
  const pull = (from: string, as: string) => store.pull(registrySource({ name: as, kind: 'registry', ref: from, registry: access }), { as })
  const leftovers = async () => (await readdir(access.workDir).catch(() => [])).length

  const dumpA = join(home, 'a.sql')
  await pipeline(generateDemoDump({ size: 40 << 20, seed: 7 }), createWriteStream(dumpA))
  const text = await readFile(dumpA, 'utf8')
  // One row changed in the middle (a job_logs line): the chunk around it changes, the others do not.
  const at = text.indexOf('\n', text.length >> 1) + 1
  await writeFile(join(home, 'b.sql'), `${text.slice(0, at)}${text.slice(at).replace(/[0-9]/, (d) => String((Number(d) + 1) % 10))}`)
  await fileSnapshot(dumpA, 'big')
  const first = await push('big')
  await fileSnapshot(join(home, 'b.sql'), 'big')
  const second = await push('big')
  t.ok(first.chunks >= 3, `${first.chunks} chunks`)
  t.equal(first.uploadedBytes, first.bytes)
  t.equal(second.uploadedBlobs, 2, `second push: ${second.uploadedBlobs} of ${second.blobs} blobs uploaded (the config and the one changed chunk)`)
  t.ok(second.uploadedBytes < second.bytes * 0.6, 'the unchanged chunks were not sent again')
  t.comment(`first push: ${first.blobs} blobs, ${first.bytes} bytes uploaded; second push of a one-row change: ${second.uploadedBlobs} blobs, ${second.uploadedBytes} of ${second.bytes} bytes uploaded`)
  const pushedSha = (await store.get('big'))!.sha256

  // Over a slow link (a throttling proxy in front of the registry), both directions report bytes as they go.
  const slow = await throttleProxy(reg.host, 2 << 20)
  const pushed: string[] = []
  const slowPush = await pushSnapshot({ store, name: 'big', ref: `${slow.host}/${REPO}-slow:big`, access, allowPersonalData: true, onStatus: (s) => pushed.push(s) })
  const upMiB = pushed.flatMap((s) => /^uploading to .*: (\d+) of (\d+) MiB \(blob \d+ of \d+\)$/.exec(s)?.slice(1).map(Number) ?? []).filter((_, i) => i % 2 === 0)
  const totalMiB = Math.round(slowPush.bytes / 2 ** 20)
  t.ok(upMiB.some((n) => n > 0 && n < totalMiB), `push progress in bytes mid-transfer: ${upMiB.join(', ')} of ${totalMiB} MiB`)
  t.same(upMiB, [...upMiB].sort((a, b) => a - b), 'and it only grows')
  const pulled: string[] = []
  await store.pull(registrySource({ name: 'slow', kind: 'registry', ref: `${slow.host}/${REPO}-slow:big`, registry: access }, { onStatus: (s) => pulled.push(s) }), { as: 'slow' })
  const downMiB = pulled.flatMap((s) => /^downloading from .*: (\d+) MiB \(blob \d+\)$/.exec(s)?.[1] ?? []).map(Number)
  t.ok(downMiB.some((n) => n > 0), `pull progress in bytes: ${downMiB.join(', ')} MiB`)
  await slow.close()
  await store.remove('slow')

  // A blob changed in the registry's storage: the pull is refused by digest, the store keeps what it had.
  await fileSnapshot(dumpA, 'big')
  const kept = (await store.get('big'))!.sha256
  t.not(kept, pushedSha)
  const blob = await largestBlob(reg.storage)
  const fh = await open(blob, 'r+')
  const one = Buffer.alloc(1)
  await fh.read(one, 0, 1, 1000)
  await fh.write(Buffer.from([one[0]! ^ 0xff]), 0, 1, 1000)
  await fh.close()
  await t.rejects(pull(ref, 'big'), ArtifactDigestError, 'a tampered blob is refused')
  t.equal((await store.get('big'))!.sha256, kept, 'the store kept its snapshot')
  t.equal(await leftovers(), 0, 'no downloaded blobs left behind')
  const fix = await open(blob, 'r+')
  await fix.write(one, 0, 1, 1000)
  await fix.close()

  // The registry stopped in the middle of a pull.
  const down = await cutProxy(reg.host, 'down', 1 << 20, reg.stop)
  await t.rejects(pull(`${down.host}/${REPO}:big`, 'big'), RegistryUnreachableError)
  t.ok(down.cut(), 'the registry was stopped mid-pull')
  await down.close()
  t.equal((await store.get('big'))!.sha256, kept, 'the store kept its snapshot')
  t.equal(await leftovers(), 0)
  await reg.start()

  // The registry stopped in the middle of a push of new data: the tag still names the previous push.
  await pipeline(generateDemoDump({ size: 16 << 20, seed: 8 }), createWriteStream(join(home, 'c.sql')))
  await fileSnapshot(join(home, 'c.sql'), 'other')
  const up = await cutProxy(reg.host, 'up', 512 << 10, reg.stop)
  // Which message depends on where the upload broke off (a reset connection, or a refused next request);
  // every one says the registry kept the tag as it was.
  const pushErr = await push('other', `${up.host}/${REPO}:big`).then(() => undefined, (err: unknown) => err)
  t.type(pushErr, RotvError, describeError(pushErr).message)
  t.match((pushErr as RotvError).fix, /the registry keeps what it had under that tag/)
  t.ok(up.cut(), 'the registry was stopped mid-push')
  await up.close()
  t.equal(await leftovers(), 0, 'no layout left behind')
  await reg.start()
  const after = await pull(ref, 'check')
  t.equal(after.sha256, pushedSha, 'the tag still names the last complete push')
  t.ok((await store.get('other'))!.sha256, 'the local snapshot is untouched')
})
