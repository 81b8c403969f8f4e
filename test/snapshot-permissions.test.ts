// Production data is readable by its user only: a pull makes the store and the snapshot's folder 0700 and its files 0600, and tightens a store an older version made 0755/0644.
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../lib/snapshots/index.ts'

const mode = async (p: string) => (await stat(p)).mode & 0o777

t.test('a pull into a new data home: 0700 folders, 0600 files', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'rotv-perm-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  const home = join(parent, 'home')
  const store = openStore(home)
  await store.pull({ name: 'demo', kind: 'demo' })
  const dir = store.pathOf('demo')
  for (const d of [join(home, 'snapshots'), dir]) t.equal(await mode(d), 0o700, `${d} is 0700`)
  for (const f of await readdir(dir)) t.equal(await mode(join(dir, f)), 0o600, `${f} is 0600`)
})

t.test('a store an older version made world-readable is tightened on its next use', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'rotv-perm-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  await mkdir(join(home, 'snapshots'), { recursive: true })
  await chmod(home, 0o755)
  await chmod(join(home, 'snapshots'), 0o755)
  await openStore(home).list()
  t.equal(await mode(join(home, 'snapshots')), 0o700)
  t.equal(await mode(home), 0o755, 'the data home is left alone (PostgreSQL\'s user may need to reach DATA_DIR in it)')
})
