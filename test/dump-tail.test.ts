// What a dump file holds around its completion trailer, decided at the pull (seed --from-file), not at
// the next start: a trailer alone is no snapshot and never replaces a good one; content after the
// trailer is refused with its line; pg_dump's own tail (\unrestrict) and a concatenation of whole dumps
// are accepted.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { EmptyDumpError, openStore, TrailingGarbageError } from '../lib/snapshots/index.ts'

const fixture = join(import.meta.dirname, 'fixtures', 'dumps', 'not-our-app.sql')
const TRAILER = '--\n-- PostgreSQL database dump complete\n--\n\n'

t.test('the tail of a dump file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rotv-tail-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const store = openStore(join(dir, 'home'))
  // as pg_dump writes it: a header, the SQL, the trailer
  const good = `--\n-- PostgreSQL database dump\n--\n\n${await readFile(fixture, 'utf8')}`
  const file = async (name: string, text: string) => {
    const p = join(dir, name)
    await writeFile(p, text)
    return { name: 'file', kind: 'file' as const, file: p }
  }
  const first = await store.pull(await file('good.sql', good), { as: 'prod' })
  t.ok(first.totalRows > 0)

  await t.rejects(store.pull(await file('trailer.sql', TRAILER), { as: 'prod' }), EmptyDumpError, 'a trailer alone is refused')
  await t.rejects(store.pull(await file('garbage.sql', `${good}this is not SQL\n`), { as: 'prod' }), TrailingGarbageError)
  const e = await store.pull(await file('garbage2.sql', `${good}\n\nSELECT 1;\n`), { as: 'prod' }).catch((err: Error) => err)
  t.match(e, { message: /after its "-- PostgreSQL database dump complete" trailer \(line \d+: "SELECT 1;"\)/, fix: /previous snapshot was kept/ })
  t.equal((await store.verify('prod')).sha256, first.sha256, 'the good snapshot is still the one stored')

  const unrestrict = await store.pull(await file('pg17.sql', `${good}\\unrestrict Zq3kP0abc\n\n`), { as: 'pg17' })
  t.equal(unrestrict.totalRows, first.totalRows, 'pg_dump 17.6+\'s \\unrestrict after the trailer is its own tail')
  const twice = await store.pull(await file('cat.sql', `${good}${good.replace(/public\./g, 'other.').replace(/^(CREATE TABLE)/m, 'CREATE SCHEMA other;\n$1')}`), { as: 'cat' })
  t.equal(twice.totalRows, 2 * first.totalRows, 'two whole dumps one after the other: both counted')
  await t.rejects(store.pull(await file('cut-cat.sql', `${good}${good.slice(0, good.indexOf('-- PostgreSQL database dump complete'))}`), { as: 'cut' }), /incomplete/, 'a second dump without its trailer is incomplete')
})
