// Anonymized pulls end to end, against real processes: the demo "production" on Debian's PostgreSQL 15,
// pulled with pg_dump (url source) and through the loopback sshd (ssh source) with the shipped rules.
// No original personal value may appear in any byte the pull leaves on disk; the snapshot must import
// with every row and constraint, and the app must run on it with the dev password.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { startSshd, type TestSshd } from './helpers/sshd.ts'
import { ensureFrontendBuilt, loadDemoDump, pgEnv, pollUntil, startApp } from './helpers/app-server.ts'
import { openStore, exportSnapshot, type SnapshotStore } from '../lib/snapshots/index.ts'
import { loadDump } from '../lib/loader/index.ts'
import { DEMO_COUNTS, DEMO_LOGIN } from '../lib/demo/generate.ts'
import {
  AnonymizeCollisionError,
  AnonymizeCoverageError,
  SnapshotNotAnonymizedError,
  UnruledPersonalColumnsError,
  assertMayLeave,
  scanSnapshot,
  hashEmail,
  keyed,
  loadAnonymizeRules,
  normalizeRules,
  saltFingerprint,
  type AnonymizeSettings,
} from '../lib/anonymize/index.ts'
import { hashPasswordWithSalt } from '../lib/demo/password.ts'
import { pushSnapshot } from '../lib/registry/index.ts'
import type { SourceSpec } from '../lib/sources/index.ts'

const REPO = new URL('../', import.meta.url).pathname
let pg: TestPostgres
let sshd: TestSshd
let work: string
let settings: AnonymizeSettings
const salt = randomBytes(24).toString('hex')

/** Every personal value of the fixture, as production holds it. */
let originals: { kind: string; value: string }[] = []

t.before(async () => {
  ;[pg, sshd] = await Promise.all([startProductionPostgres({ databases: ['rotv', 'odd'] }), startSshd()])
  work = await mkdtemp(join(tmpdir(), 'rotv-anon-'))
  await loadDemoDump(pg, 'rotv', { loadInto: 15 })
  const q = async (sql: string) => (await pg.psql('rotv', ['-At', '-F', '\t', '-c', sql])).stdout.split('\n').filter(Boolean)
  for (const line of await q('SELECT email, name, coalesce(google_id, \'\'), coalesce(facebook_id, \'\'), coalesce(password_hash, \'\') FROM users')) {
    const [email, name, google, facebook, hash] = line.split('\t')
    originals.push({ kind: 'email', value: email! }, { kind: 'name', value: name! })
    if (google) originals.push({ kind: 'google_id', value: google })
    if (facebook) originals.push({ kind: 'facebook_id', value: facebook })
    if (hash) originals.push({ kind: 'password_hash', value: hash })
  }
  for (const line of await q(`SELECT sid, sess::jsonb ->> 'csrf' FROM session`)) {
    const [sid, csrf] = line.split('\t')
    originals.push({ kind: 'session sid', value: sid! }, { kind: 'csrf token', value: csrf! })
  }
  originals = dedupe(originals)
  const { rules, origin } = await loadAnonymizeRules(REPO)
  settings = { rules, salt, rulesOrigin: origin }
})

t.teardown(async () => {
  await sshd?.stop()
  await pg?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

const urlSpec = (db = 'rotv'): SourceSpec => ({ name: 'production', kind: 'url', url: pg.url(db) })
const sshSpec = (): SourceSpec => ({
  name: 'production', kind: 'ssh', host: '127.0.0.1', sshConfigFile: sshd.configFile, database: 'rotv',
  dbUser: 'postgres', dbHost: '127.0.0.1', dbPort: pg.port, connectTimeoutSeconds: 5,
})

function dedupe<T extends { value: string }>(xs: T[]): T[] {
  const seen = new Set<string>()
  return xs.filter((x) => (seen.has(x.value) ? false : (seen.add(x.value), true)))
}

/** Decompresses a (possibly partial) zstd file, the store's format at rest: whatever bytes decode. */
function storedFileText(buf: Buffer): string {
  // zstd -d writes every block it could decode before it fails on a cut-off frame.
  return spawnSync('zstd', ['-q', '-d', '-c'], { input: buf, maxBuffer: 1 << 30 }).stdout.toString('utf8')
}

/** The readable text of every file under `dir`: .zst decompressed, anything else as is. */
function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...filesUnder(p))
    else if (statSync(p).isFile()) {
      const raw = readFileSync(p)
      out.push({ path: p, text: raw.toString('latin1') })
      if (p.endsWith('.zst')) out.push({ path: `${p} (decompressed)`, text: storedFileText(raw) })
    }
  }
  return out
}

function leaks(text: string): string[] {
  return originals.filter((o) => text.includes(o.value)).map((o) => `${o.kind} ${o.value.slice(0, 40)}`)
}

async function storedText(store: SnapshotStore, name: string): Promise<string> {
  const m = (await store.get(name))!
  return storedFileText(readFileSync(join(store.pathOf(name), m.dataFile)))
}

t.test('the fixture holds the personal data the test looks for', async (t) => {
  const kinds = new Set(originals.map((o) => o.kind))
  t.same([...kinds].sort(), ['csrf token', 'email', 'facebook_id', 'google_id', 'name', 'password_hash', 'session sid'])
  t.ok(originals.length > 700, `${originals.length} distinct personal values`)
  // The scan works: the same pull without rules finds them all.
  const store = openStore(join(work, 'plain-home'))
  await store.pull(urlSpec(), { as: 'plain' })
  const text = await storedText(store, 'plain')
  t.equal(leaks(text).length, originals.length, 'every original value is found in an unanonymized snapshot')
})

t.test('an anonymized pull stores no original personal value, anywhere on disk', async (t) => {
  const home = join(work, 'home')
  const store = openStore(home)
  // Capture the temp file of the pull as it grows.
  const captured: { path: string; text: string }[] = []
  let sightings = 0
  const dir = store.pathOf('production')
  const manifest = await store.pull(urlSpec(), {
    anonymize: settings,
    onProgress: () => {
      for (const f of readdirSync(dir)) {
        if (!f.endsWith('.tmp')) continue
        sightings++
        try {
          const raw = readFileSync(join(dir, f))
          if (raw.length) captured.push({ path: f, text: storedFileText(raw) }, { path: `${f} raw`, text: raw.toString('latin1') })
        } catch {
          // renamed away between readdir and read
        }
      }
    },
  })
  t.equal(manifest.anonymized, true)
  t.equal(manifest.anonymization?.rulesSha256, settings.rules.sha256)
  t.equal(manifest.anonymization?.rulesOrigin, 'anonymize.config.ts')
  t.equal(manifest.anonymization?.saltFingerprint, saltFingerprint(salt))
  t.notMatch(JSON.stringify(manifest), salt, 'the salt is not in the manifest')
  t.same(manifest.anonymization?.warnings, [], 'the shipped rules cover the reference app')
  t.same(manifest.anonymization?.tables['public.session'], { rows: DEMO_COUNTS.sessions, truncated: true, columns: [] })
  t.same(manifest.anonymization?.tables['public.users'], { rows: DEMO_COUNTS.users, truncated: false, columns: ['email', 'name', 'google_id', 'facebook_id', 'password_hash'] })
  t.equal(manifest.tables['public.users'], DEMO_COUNTS.users)
  t.equal(manifest.tables['public.session'], 0)

  const text = await storedText(store, 'production')
  t.same(leaks(text), [], 'no original value in the stored snapshot')
  t.match(text, /user-[0-9a-f]{20}@example\.invalid/)
  for (const f of [...filesUnder(home), ...captured]) t.same(leaks(f.text), [], `no original value in ${f.path}`)
  t.comment(`temp file seen ${sightings} times during the pull, ${captured.length / 2} non-empty captures scanned; ${filesUnder(home).length} files scanned after`)
  const restrict = [...text.matchAll(/^\\(un)?restrict (\S+)$/gm)].map((m) => m[2])
  t.equal(restrict.length, 2, 'pg_dump fenced the dump with \\restrict / \\unrestrict')
  t.equal(restrict[0], restrict[1], 'one key, replaced consistently (derived from the salt, so pulls are reproducible)')

  t.test('a second pull with the same salt, through ssh this time, is byte-identical', async (t) => {
    const other = openStore(join(work, 'home-ssh'))
    const again = await other.pull(sshSpec(), { anonymize: settings })
    t.equal(again.sha256, manifest.sha256)
    t.same(again.tables, manifest.tables)
    const differentSalt = await openStore(join(work, 'home-salt2')).pull(urlSpec(), { anonymize: { ...settings, salt: `${salt}x` } })
    t.not(differentSalt.sha256, manifest.sha256, 'another salt gives other fake values')
  })

  t.test('it imports with every row and constraint, and the app runs on it with the dev password', async (t) => {
    await pg.psql('postgres', ['-c', 'CREATE DATABASE imported'])
    const opened = await store.openForImport('production')
    const result = await loadDump({ connection: { connectionString: pg.url('imported') }, input: opened.stream, parallel: 2 })
    for (const [table, n] of Object.entries(manifest.tables)) t.equal(result.rows[table], n, `${table}: ${n} rows`)
    const one = async (sql: string) => (await pg.psql('imported', ['-At', '-c', sql])).stdout.trim()
    t.equal(await one('SELECT count(*) FROM users'), String(DEMO_COUNTS.users))
    t.equal(await one('SELECT count(*) FROM session'), '0')
    t.equal(await one(`SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.users'::regclass AND contype IN ('u', 'p')`), '4', 'users_pkey and the three UNIQUE constraints were built')
    t.equal(await one('SELECT count(DISTINCT email) = count(*) AND bool_and(email LIKE \'user-%@example.invalid\') FROM users'), 't')
    // The rows of untouched tables are the originals.
    t.equal(await one('SELECT md5(string_agg(p::text, \'|\' ORDER BY id)) FROM pois p'), (await pg.psql('rotv', ['-At', '-c', 'SELECT md5(string_agg(p::text, \'|\' ORDER BY id)) FROM pois p'])).stdout.trim())
    // Same OAuth presence per user (NULLs stay NULL), same roles.
    const shape = 'SELECT string_agg(format(\'%s:%s:%s:%s\', id, google_id IS NULL, facebook_id IS NULL, role), \',\' ORDER BY id) FROM users'
    t.equal(await one(shape), (await pg.psql('rotv', ['-At', '-c', shape])).stdout.trim())

    await ensureFrontendBuilt()
    const app = await startApp({ ...pgEnv(pg, 'imported'), SESSION_SECRET: 'anonymize-test-secret-0123456789abcdef' })
    t.teardown(() => app.stop())
    const health = await (await pollUntil(`${app.url}/api/health`, (r) => r.status === 200)).json() as { counts: Record<string, number> }
    t.equal(health.counts.users, DEMO_COUNTS.users)
    t.equal(health.counts.pois, DEMO_COUNTS.pois)
    const login = (email: string, password: string) =>
      fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
    const anonEmail = hashEmail(keyed(salt), DEMO_LOGIN.email)
    const ok = await login(anonEmail, settings.rules.devPassword)
    t.equal(ok.status, 200, 'the demo user logs in under the anonymized address with the dev password')
    const body = (await ok.json()) as { user: { email: string; name: string } }
    t.equal(body.user.email, anonEmail)
    t.not(body.user.name, 'Demo Explorer')
    t.equal((await login(DEMO_LOGIN.email, DEMO_LOGIN.password)).status, 401, 'the original address and password are gone')
    t.equal((await login(anonEmail, DEMO_LOGIN.password)).status, 401, 'the original password no longer works')
    // Any user, e.g. the last one, logs in with the dev password.
    const last = await one(`SELECT email FROM users ORDER BY id DESC LIMIT 1`)
    t.equal((await login(last, settings.rules.devPassword)).status, 200)
  })

  t.test('export: the anonymized snapshot as one file, imported back with the file source', async (t) => {
    const gz = join(work, 'handover.sql.gz')
    const r = await exportSnapshot(store, 'production', { out: gz })
    t.equal(r.format, 'gzip')
    const plainSql = zlib.gunzipSync(readFileSync(gz)).toString('utf8')
    t.same(leaks(plainSql), [])
    t.equal(Buffer.byteLength(plainSql), manifest.uncompressedBytes)
    const zst = await exportSnapshot(store, 'production', { out: join(work, 'handover.sql.zst') })
    t.equal(zst.bytes, manifest.compressedBytes, '.sql.zst is the stored file')
    const contractor = openStore(join(work, 'contractor'))
    const back = await contractor.pull({ name: 'file', kind: 'file', file: gz }, { as: 'from-us' })
    t.same(back.tables, manifest.tables)
    t.equal(back.uncompressedBytes, manifest.uncompressedBytes)

    const plainStore = openStore(join(work, 'plain-home'))
    await t.rejects(exportSnapshot(plainStore, 'plain', { out: join(work, 'plain.sql.gz') }), SnapshotNotAnonymizedError)
    await t.rejects(stat(join(work, 'plain.sql.gz')), { code: 'ENOENT' }, 'nothing written when refused')
    const forced = await exportSnapshot(plainStore, 'plain', { out: join(work, 'plain.sql'), force: true })
    t.equal((await stat(forced.path)).mode & 0o777, 0o600, 'a forced export of personal data is owner-only')
  })
})

t.test('coverage: stale rules and unruled personal columns warn, or fail in strict mode', async (t) => {
  const store = openStore(join(work, 'coverage'))
  const base = await loadAnonymizeRules(REPO)
  const loose = normalizeRules({
    devPassword: 'dev-pass', passwordHash: hashPasswordWithSalt,
    tables: {
      users: { columns: { email: 'hash-email', phone: 'fake-phone', password_hash: 'password', google_id: 'hash', facebook_id: 'hash' } },
      session: 'truncate-table',
      'public.newsletter_subscribers': 'truncate-table',
      pois: { columns: { name: 'keep', address: 'keep' } },
      job_logs: { columns: { job_name: 'keep' } },
    },
  })
  t.not(loose.sha256, base.rules.sha256)
  const warned = await store.pull(urlSpec(), { anonymize: { rules: loose, salt } })
  t.same(warned.anonymization?.warnings, [
    'public.users: column name looks personal but has no rule (copied unchanged)',
    'public.users: rule for phone, not in the dump',
    'public.newsletter_subscribers: named in the rules but not in the dump',
  ])
  t.same(warned.anonymization?.unruled, [{ table: 'public.users', columns: ['name'] }])
  // Fail closed where data leaves: the unruled column blocks export unless forced.
  const refused = await exportSnapshot(store, 'production', { out: join(work, 'unruled.sql') }).catch((e: unknown) => e)
  t.type(refused, UnruledPersonalColumnsError)
  t.match((refused as Error).message, /1 personal-looking column that no anonymization rule covers/)
  t.same((refused as UnruledPersonalColumnsError).details, ['public.users.name'])
  await t.rejects(stat(join(work, 'unruled.sql')), { code: 'ENOENT' })
  const forced = await exportSnapshot(store, 'production', { out: join(work, 'unruled.sql'), force: true })
  t.match(forced.verdict.warning, /1 personal-looking column no rule covers/)
  t.equal((await stat(forced.path)).mode & 0o777, 0o600)
  // Push refuses exactly what export refuses, before it contacts any registry (port 9: nothing listens).
  const pushRefused = await pushSnapshot({ store, name: 'production', ref: '127.0.0.1:9/team/rotv:production', access: { tlsVerify: false } }).catch((e: unknown) => e)
  t.type(pushRefused, UnruledPersonalColumnsError, 'push refuses the unruled personal column')
  t.match((pushRefused as Error).message, /push refused/)
  t.match((pushRefused as UnruledPersonalColumnsError).fix, /--allow-personal-data/)
  t.same((pushRefused as UnruledPersonalColumnsError).details, ['public.users.name'])
  t.doesNotThrow(() => assertMayLeave({ ...warned, anonymization: { ...warned.anonymization!, unruled: [] } }), 'fully ruled: may leave')
  t.throws(() => assertMayLeave({ ...warned, anonymized: false, anonymization: undefined }, { action: 'push', forceFlag: '--force' }), SnapshotNotAnonymizedError)
  t.same(assertMayLeave({ ...warned, anonymized: false, anonymization: undefined, synthetic: true }), { reason: 'synthetic' })

  const before = await store.get('production')
  const err = await store.pull(urlSpec(), { anonymize: { rules: loose, salt, strict: true } }).catch((e: unknown) => e)
  t.type(err, AnonymizeCoverageError)
  t.match((err as AnonymizeCoverageError).message, /: 3 problems$/, 'strict mode counts every problem, not only the first')
  t.equal((err as AnonymizeCoverageError).details?.length, 3)
  t.match((err as AnonymizeCoverageError).details?.join('\n'), /column name looks personal/)
  t.same(await store.get('production'), before, 'the failed strict pull kept the previous snapshot')

  const collide = normalizeRules({ devPassword: 'dev-pass', passwordHash: hashPasswordWithSalt, tables: { users: { columns: { email: { transform: () => 'same@example.invalid', unique: true } } } } })
  await t.rejects(store.pull(urlSpec(), { anonymize: { rules: collide, salt } }), AnonymizeCollisionError)
  t.same(await store.get('production'), before)
  t.same(readdirSync(store.pathOf('production')).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind')
})

t.test('quoted identifiers and escaped values survive the COPY round trip', async (t) => {
  await pg.psql('odd', ['-c', `
    CREATE TABLE "Odd Table" (id int PRIMARY KEY, "E-Mail" text UNIQUE, note text, "Phone" text);
    INSERT INTO "Odd Table" VALUES
      (1, E'tab\\there@x.org', E'line1\\nline2\\t\\\\back', NULL),
      (2, E'back\\\\slash@x.org', NULL, '+44 20 7946 0000'),
      (3, 'plain@x.org', E'\\\\.', '');
  `])
  const rules = normalizeRules({
    devPassword: 'dev-pass', passwordHash: hashPasswordWithSalt,
    tables: { 'Odd Table': { columns: { 'E-Mail': { transform: 'hash-email', unique: true }, note: (v) => (v === null ? null : `${v.toUpperCase()}\t!`), Phone: 'fake-phone' } } },
  })
  const store = openStore(join(work, 'odd'))
  const m = await store.pull(urlSpec('odd'), { as: 'odd', anonymize: { rules, salt, strict: true } })
  t.same(m.anonymization?.warnings, [])
  await pg.psql('postgres', ['-c', 'CREATE DATABASE odd_imported'])
  const opened = await store.openForImport('odd')
  await loadDump({ connection: { connectionString: pg.url('odd_imported') }, input: opened.stream, parallel: 2 })
  const json = (await pg.psql('odd_imported', ['-At', '-c', `SELECT json_agg(o ORDER BY id) FROM "Odd Table" o`])).stdout
  const rows = JSON.parse(json) as { id: number; 'E-Mail': string; note: string | null; Phone: string | null }[]
  const k = keyed(salt)
  t.same(rows.map((r) => r['E-Mail']), ['tab\there@x.org', 'back\\slash@x.org', 'plain@x.org'].map((e) => hashEmail(k, e)), 'e-mails with a tab and a backslash were decoded before hashing')
  t.same(rows.map((r) => r.note), ['LINE1\nLINE2\t\\BACK\t!', null, '\\.\t!'], 'the custom transform saw and wrote real tabs, newlines and backslashes')
  t.equal(rows[0]!.Phone, null, 'NULL stays NULL')
  t.match(rows[1]!.Phone, /^\+1 555 01\d\d$/)
  t.match(rows[2]!.Phone, /^\+1 555 01\d\d$/)
})

t.test('planted personal data: free text, a JSON column, a column added after the rules, a name split across lines', async (t) => {
  const one = async (db: string, sql: string) => (await pg.psql(db, ['-At', '-c', sql])).stdout.trim()
  const [u1, u2, u3] = (await one('rotv', `SELECT string_agg(email || '|' || name, E'\\n' ORDER BY id) FROM (SELECT * FROM users ORDER BY id LIMIT 3) u`)).split('\n').map((l) => l.split('|') as [string, string])
  const [first2, ...rest2] = u2![1].split(' ')
  const planted = [u1![0], u1![1], u2![0], u2![1], u3![0], '81.2.69.142', '+44 20 7946 0958', 'hunter2-db-pass', 'sk_live_51Hx9qTOKENabcdef', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXBsYW50ZWQ']
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`
  await pg.psql('rotv', ['-c', `
    UPDATE news SET body = body || ' Thanks to ' || ${q(u1![1])} || ' (' || ${q(u1![0])} || ') for the photo.' WHERE id = (SELECT min(id) FROM news);
    UPDATE events SET description = description || E' Ask ' || ${q(first2!)} || E'\\n' || ${q(rest2.join(' '))} || ', ' || ${q(u2![0])} WHERE id = (SELECT min(id) FROM events);
    INSERT INTO job_logs (job_name, run_id, level, message, logged_at) VALUES
      ('newsletter', 1, 'info', 'sent to ' || ${q(u3![0])} || ' from 81.2.69.142 via postgres://mailer:hunter2-db-pass@smtp.internal/x', now()),
      ('poi-sync', 1, 'debug', 'GET /api?api_key=sk_live_51Hx9qTOKENabcdef Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXBsYW50ZWQ', now());
    CREATE TABLE audit (id int PRIMARY KEY, payload jsonb, contact_phone text);
    INSERT INTO audit VALUES (1, jsonb_build_object('by', ${q(u1![1])}, 'note', 'call +44 20 7946 0958'), '+44 20 7946 0958');
  `])
  const leaked = (text: string) => planted.filter((p) => text.includes(p))
  t.equal(leaked(await one('rotv', `SELECT string_agg(x::text, ' ') FROM (SELECT body AS x FROM news UNION ALL SELECT description FROM events UNION ALL SELECT message FROM job_logs UNION ALL SELECT payload::text || contact_phone FROM audit) s`)).length, planted.length - 1, 'the fixture holds every planted value (the split name as two lines)')

  const store = openStore(join(work, 'planted'))
  const m = await store.pull(urlSpec(), { as: 'planted', anonymize: settings })
  const text = await storedText(store, 'planted')
  t.same(leaked(text), [], 'no planted value in the snapshot bytes')
  t.notMatch(text, new RegExp(`${first2}\\\\n${rest2.join(' ')}`), 'nor the name split across lines')
  t.same(leaks(text), [], 'nor any structured personal value')
  const a = m.anonymization!
  t.same(a.unruled, [{ table: 'public.audit', columns: ['contact_phone'] }], 'the column added after the rules is reported')
  t.ok(a.leakScan!.values > 500, `${a.leakScan!.values} personal values fingerprinted`)
  t.equal(a.leakScan!.rescanned, true, 'news and events passed before users: the second pass ran')
  const where = a.leakScan!.findings.map((f) => `${f.table}.${f.column} ${f.kind} ${f.count}`)
  t.ok(where.includes('public.news.body name 1'), `the name in a news body is a finding (${where.join('; ')})`)
  t.ok(where.includes('public.events.description name 1'), 'the name split across lines is a finding')
  t.ok(where.includes('public.audit.payload name 1'), 'the name in a JSON column is a finding')
  t.notMatch(JSON.stringify(a), new RegExp(planted.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')), 'the report names no value')
  t.match(a.freeText, { 'public.job_logs.message': { email: 1, ip: 1, 'url-credentials': 2, token: 1 }, 'public.news.body': { email: 1 }, 'public.audit.contact_phone': { phone: 1 } })

  await t.rejects(exportSnapshot(store, 'planted', { out: join(work, 'planted.sql.gz') }), UnruledPersonalColumnsError, 'export refuses the unruled column')
  const exported = await exportSnapshot(store, 'planted', { out: join(work, 'planted.sql.gz'), force: true })
  const exportedText = zlib.gunzipSync(readFileSync(exported.path)).toString('utf8')
  t.same(leaked(exportedText), [], 'no planted value in export\'s output')

  await pg.psql('postgres', ['-c', 'CREATE DATABASE planted_dev'])
  const opened = await store.openForImport('planted')
  await loadDump({ connection: { connectionString: pg.url('planted_dev') }, input: opened.stream, parallel: 2 })
  const dev = await one('planted_dev', `SELECT string_agg(x::text, ' ') FROM (SELECT body AS x FROM news UNION ALL SELECT description FROM events UNION ALL SELECT message FROM job_logs UNION ALL SELECT payload::text || coalesce(contact_phone, '') FROM audit UNION ALL SELECT email || name FROM users) s`)
  t.same(leaked(dev), [], 'no planted value in the dev database')
  t.equal(await one('planted_dev', 'SELECT count(*) FROM job_logs'), await one('rotv', 'SELECT count(*) FROM job_logs'), 'every row imported')

  const clean = await scanSnapshot(store, 'planted', { salt })
  t.equal(clean.findings, 0, 'snapshots scan finds nothing left in the anonymized snapshot')
  t.ok(clean.fingerprintCount > 500, 'and compared the pull\'s fingerprints')
  const plain = openStore(join(work, 'planted-plain'))
  await plain.pull(urlSpec(), { as: 'raw' })
  const dirty = await scanSnapshot(plain, 'raw', { salt })
  t.match(dirty.patterns, { 'public.job_logs.message': { email: 1 }, 'public.news.body': { email: 1 }, 'public.users.email': { email: Number } }, 'the plain pull\'s patterns are found')
  t.ok(dirty.findings > 250, `${dirty.findings} findings in the plain pull`)
})
