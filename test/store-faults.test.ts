// Faults at the store's writes: a failure at the commit point leaves no data file that no manifest
// names, and ENOSPC on a small tmpfs (a real mount) at any point of a pull leaves the previous snapshot
// as it was, nothing of the failed pull behind, and the next pull working once there is room.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../lib/snapshots/index.ts'

const fixture = join(import.meta.dirname, 'fixtures', 'dumps', 'not-our-app.sql')

t.test('a data file no manifest names (a kill or ENOSPC between its rename and the commit) is swept by the next pull', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'rotv-commit-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  const store = openStore(home)
  const spec = { name: 'file', kind: 'file' as const, file: fixture }
  const first = await store.pull(spec, { as: 'prod' })
  const orphan = join(store.pathOf('prod'), `${'ab'.repeat(32)}.sql.br`)
  await writeFile(orphan, Buffer.alloc(256 * 1024))
  await writeFile(join(store.pathOf('prod'), '.pull-1-deadbeef.tmp'), 'half a pull')
  t.equal((await store.verify('prod')).sha256, first.sha256, 'the orphan does not disturb the snapshot')
  const next = await store.pull(spec, { as: 'prod' })
  t.same((await readdir(store.pathOf('prod'))).sort(), [next.dataFile, 'manifest.json'].sort(), 'orphan and temp file are gone')
})

t.test('ENOSPC on a small tmpfs: the previous snapshot stays, nothing is left, the next pull works', async (t) => {
  const mnt = await mkdtemp(join(tmpdir(), 'rotv-enospc-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt])
  t.teardown(async () => {
    execFileSync('umount', [mnt])
    await rm(mnt, { recursive: true, force: true })
  })
  const store = openStore(mnt)
  const first = await store.pull({ name: 'file', kind: 'file', file: fixture }, { as: 'prod' })
  // Random hex does not compress: about 1.4 MB at rest cannot fit in what is left of 512 KB.
  const big = join(tmpdir(), `rotv-enospc-${process.pid}.sql`)
  t.teardown(() => rm(big, { force: true }))
  const rows = Array.from({ length: 70_000 }, (_, i) => `${i}\t${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}`)
  await writeFile(big, `CREATE TABLE public.h (id int, v text);\nCOPY public.h (id, v) FROM stdin;\n${rows.join('\n')}\n\\.\n--\n-- PostgreSQL database dump complete\n--\n`)
  const err = await store.pull({ name: 'file', kind: 'file', file: big }, { as: 'prod' }).catch((e: Error) => e)
  t.match(err, { message: /no space|ENOSPC|full/i }, 'the failure names the lack of space')
  t.match(err, { fix: /./ }, 'with a fix')
  t.equal((await store.verify('prod')).sha256, first.sha256, 'the previous snapshot is intact')
  t.same((await readdir(store.pathOf('prod'))).sort(), [first.dataFile, 'manifest.json'].sort(), 'nothing of the failed pull is left')
  execFileSync('mount', ['-o', 'remount,size=16m', mnt])
  const next = await store.pull({ name: 'file', kind: 'file', file: big }, { as: 'prod' })
  t.equal(next.totalRows, 70_000, 'with room again, the next pull works')
  t.equal(JSON.parse(await readFile(join(store.pathOf('prod'), 'manifest.json'), 'utf8')).sha256, next.sha256)
})
