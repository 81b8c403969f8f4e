import { homedir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { EnvFileError, loadConfig } from '../lib/config/load.ts'
import reference from '../project.config.ts'
import { parseSize } from '../lib/config/parse.ts'

t.test('defaults follow the original setup', async (t) => {
  const root = t.testdir({})
  const { config, problems } = loadConfig({ root, env: {} })
  t.same(problems, [])
  t.equal(config.dataHome, join(homedir(), '.rotv'))
  t.equal(config.persistentData, false)
  t.equal(config.dataDir, join(homedir(), '.rotv', 'pgdata'))
  t.equal(config.tmpfsSizeBytes, 2 * 1024 ** 3)
  t.equal(config.appPort, 8080)
  t.equal(config.seed.maxAgeDays, 7)
  t.equal(config.seed.defaultSource, 'demo', 'no production configured: the demo data')
  t.equal(config.snapshot, 'demo')
  t.equal(config.envFile, undefined)
})

t.test('precedence: defaults < .env < process environment', async (t) => {
  const root = t.testdir({ '.env': 'APP_PORT=9000\nTMPFS_SIZE=512M\nSEED_MAX_AGE_DAYS=3\n' })
  const loaded = loadConfig({ root, env: { APP_PORT: '9100' } })
  t.equal(loaded.config.appPort, 9100, 'environment wins over .env')
  t.equal(loaded.config.tmpfsSizeBytes, 512 * 1024 ** 2, '.env wins over the default')
  t.equal(loaded.config.seed.maxAgeDays, 3)
  t.equal(loaded.values.get('APP_PORT')?.origin, 'environment')
  t.equal(loaded.values.get('TMPFS_SIZE')?.origin, 'file')
  t.equal(loaded.values.get('ROTV_IMAGE')?.origin, 'default')
})

t.test('every default is overridable', async (t) => {
  const root = t.testdir({})
  const { config, problems } = loadConfig({
    root,
    env: { ROTV_HOME: '/srv/rotv', PERSISTENT_DATA: 'true', TMPFS_SIZE: '1.5G', APP_PORT: '3000', SEED_MAX_AGE_DAYS: '14', PG_PORT: '6543' },
  })
  t.same(problems, [])
  t.equal(config.dataHome, '/srv/rotv')
  t.equal(config.dataDir, '/srv/rotv/pgdata', 'DATA_DIR follows the data home unless set')
  t.equal(config.persistentData, true)
  t.equal(config.tmpfsSizeBytes, Math.round(1.5 * 1024 ** 3))
  t.equal(config.appPort, 3000)
  t.equal(config.pgPort, 6543)
  t.equal(config.seed.maxAgeDays, 14)
  t.equal(loadConfig({ root, env: { DATA_DIR: '~/pg' } }).config.dataDir, join(homedir(), 'pg'))
})

t.test('.env lookup: the root first, else backend/.env', async (t) => {
  const both = t.testdir({ '.env': 'APP_PORT=1111\n', backend: { '.env': 'APP_PORT=2222\n' } })
  t.equal(loadConfig({ root: both, env: {} }).config.appPort, 1111)
  t.equal(loadConfig({ root: both, env: {} }).config.envFile, join(both, '.env'))
  const backendOnly = t.testdir({ backend: { '.env': 'APP_PORT=2222\n' } })
  t.equal(loadConfig({ root: backendOnly, env: {} }).config.appPort, 2222)
  t.equal(loadConfig({ root: backendOnly, env: {} }).config.envFile, join(backendOnly, 'backend', '.env'))
  t.throws(() => loadConfig({ root: both, env: {}, envFile: join(both, 'nope.env') }), EnvFileError)
})

t.test('values with spaces, quotes, # and = survive (the old xargs export broke them)', async (t) => {
  const root = t.testdir({
    '.env': [
      '# a comment',
      'SESSION_SECRET="a secret with spaces # and = signs, long enough"',
      "PRODUCTION_DB_USER='o''brien'",
      'PRODUCTION_CONTAINER=rotv # trailing comment',
      'PRODUCTION_DATABASE_URL=postgres://ro:p%40ss=word@127.0.0.1:5432/rotv?sslmode=disable',
      'export PRODUCTION_USER=deploy',
      'ADMIN_EMAIL="admin@example.org"',
      'SEED_FILE="/tmp/dump with space.sql"',
      'GOOGLE_CLIENT_SECRET="line one',
      'line two"',
      'EMPTY_ONE=',
      'TMPFS_SIZE=1G\r',
      '',
    ].join('\n'),
  })
  const { values, problems, config } = loadConfig({ root, env: {}, project: reference })
  t.equal(values.get('SESSION_SECRET')?.value, 'a secret with spaces # and = signs, long enough')
  t.equal(values.get('PRODUCTION_CONTAINER')?.value, 'rotv')
  t.equal(values.get('PRODUCTION_DATABASE_URL')?.value, 'postgres://ro:p%40ss=word@127.0.0.1:5432/rotv?sslmode=disable')
  t.equal(values.get('PRODUCTION_USER')?.value, 'deploy', 'export prefix accepted')
  t.equal(values.get('SEED_FILE')?.value, '/tmp/dump with space.sql')
  t.equal(values.get('GOOGLE_CLIENT_SECRET')?.value, 'line one\nline two', 'multi-line quoted value')
  t.equal(values.has('EMPTY_ONE'), false, 'an empty value is unset')
  t.equal(config.tmpfsSizeBytes, 1024 ** 3, 'CRLF line endings')
  t.equal(config.appVariables.SESSION_SECRET, 'a secret with spaces # and = signs, long enough', 'a declared variable reaches the app as written')
  t.same(problems, [])
})

t.test('a line that is not NAME=value is an error naming the line', async (t) => {
  const root = t.testdir({ '.env': 'APP_PORT=8080\nthis is not a variable\n\nALSO BAD\n' })
  const err = t.throws(() => loadConfig({ root, env: {} })) as EnvFileError
  t.type(err, EnvFileError)
  t.match(err.message, /cannot parse line 2, 4/)
})

t.test('named environments side by side', async (t) => {
  const root = t.testdir({
    '.env': 'SEED_ENVIRONMENTS=production,staging\nPRODUCTION_HOST=prod.example.org\nSTAGING_DATABASE_URL=postgres://u@127.0.0.1:5433/rotv\n',
  })
  const { config, problems } = loadConfig({ root, env: { STAGING_PORT: '2222' } })
  t.same(problems, [])
  t.equal(config.seed.defaultSource, 'production')
  t.equal(config.snapshot, 'production')
  t.match(config.seed.sources.production, { kind: 'ssh+podman', host: 'prod.example.org', container: 'rotv', database: 'rotv' })
  // Unset port and user stay unset: ssh's own configuration (an alias's Port, User) decides.
  t.equal(config.seed.sources.production!.port, undefined)
  t.equal(config.seed.sources.production!.user, undefined)
  t.match(config.seed.sources.staging, { kind: 'url', url: 'postgres://u@127.0.0.1:5433/rotv', port: 2222 })
  t.match(config.seed.sources.demo, { kind: 'demo' })
})

t.test('sizes', async (t) => {
  t.equal(parseSize('2G'), 2 * 1024 ** 3)
  t.equal(parseSize('512M'), 512 * 1024 ** 2)
  t.equal(parseSize('384MB'), 384 * 1024 ** 2)
  t.equal(parseSize('1GiB'), 1024 ** 3)
  t.equal(parseSize('100'), 100)
  t.equal(parseSize('two gigs'), undefined)
})
