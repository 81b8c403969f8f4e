import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { renderEnvExample } from '../lib/config/env-example.ts'
import { loadConfig } from '../lib/config/load.ts'
import { validateEnvironment } from '../lib/config/validate.ts'
import { allVariables } from '../lib/config/variables.ts'
import reference from '../project.config.ts'

const repo = join(import.meta.dirname, '..')
// The engine's variables and the reference app's (its project file declares SESSION_SECRET, GOOGLE_*, ADMIN_EMAIL).
const VARIABLES = allVariables(reference)
const example = readFileSync(join(repo, '.env.example'), 'utf8')
const check = (files: Record<string, string>, env: NodeJS.ProcessEnv = {}) => {
  const root = t.testdir({ '.env.example': example, ...files })
  return validateEnvironment(loadConfig({ root, env, project: reference }))
}

t.test('.env.example documents every variable and is generated from the table', async (t) => {
  t.equal(example, renderEnvExample(VARIABLES), 'up to date: run `npx tsx Taskfile.ts env-example` after changing lib/config/variables.ts or project.config.ts')
  for (const v of VARIABLES) t.match(example, new RegExp(`^(# )?${v.name}=`, 'm'), `${v.name} is in .env.example`)
})

t.test('a copy of .env.example reports each placeholder', async (t) => {
  const report = check({ '.env': example })
  const placeholders = VARIABLES.filter((v) => v.placeholder).map((v) => v.name)
  t.ok(placeholders.length >= 4)
  t.same(report.errors.map((e) => e.variable).sort(), [...placeholders].sort())
  for (const e of report.errors) {
    t.equal(e.kind, 'placeholder')
    t.match(e.message, `${e.variable} is still the .env.example placeholder`)
  }
  t.notMatch(JSON.stringify(report), 'change-me-to-a-long-random-string', 'the secret placeholder value is not echoed')
})

t.test('no .env at all: valid, and says which optional features are off and how to turn them on', async (t) => {
  const report = check({})
  t.same(report.errors, [])
  const off = report.notices.join('\n')
  t.match(off, /No \.env file/)
  t.match(off, /Production source: not configured.*demo data.*PRODUCTION_HOST/)
  t.match(off, /OAuth login: off.*GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET/)
  t.match(off, /Session secret: not set/)
})

t.test('malformed values are errors, one line each, and secrets are never shown', async (t) => {
  const secret = 'tooShortSecret'
  const report = check({
    '.env': [
      'APP_PORT=80800',
      'PERSISTENT_DATA=maybe',
      'PRODUCTION_DATABASE_URL=http://user:hunter2@db.example.org/rotv',
      'ADMIN_EMAIL=not-an-email',
      `SESSION_SECRET=${secret}`,
      'TMPFS_SIZE=lots',
      'PRODUCTION_HOST=https://prod.example.org:22',
      'SEED_SOURCE=ftp',
      'SEED_MAX_AGE_DAYS=-1',
    ].join('\n'),
  })
  const byVar = Object.fromEntries(report.errors.map((e) => [e.variable, e]))
  t.match(byVar.APP_PORT, { kind: 'malformed', message: /port number/ })
  t.match(byVar.PERSISTENT_DATA, { kind: 'malformed', message: /true or false/ })
  t.match(byVar.PRODUCTION_DATABASE_URL, { kind: 'malformed', message: /postgres:\/\/ URL/ })
  t.match(byVar.ADMIN_EMAIL, { kind: 'malformed', message: /e-mail/ })
  t.match(byVar.SESSION_SECRET, { kind: 'too-short', message: /14 characters, at least 32/ })
  t.match(byVar.TMPFS_SIZE, { kind: 'malformed', message: /size/ })
  t.match(byVar.PRODUCTION_HOST, { kind: 'malformed', fix: /PRODUCTION_PORT/ })
  t.match(byVar.SEED_SOURCE, { kind: 'malformed', message: /one of ssh\+podman, ssh, url, file, demo/ })
  t.match(byVar.SEED_MAX_AGE_DAYS, { kind: 'malformed' })
  t.equal(report.errors.length, 9)
  const text = JSON.stringify(report)
  t.notMatch(text, secret, 'the session secret value is not shown')
  t.notMatch(text, 'hunter2', 'the database password is not shown')
})

t.test('what is required depends on what the configuration asks for', async (t) => {
  t.match(check({ '.env': 'SEED_SOURCE=ssh\n' }).errors, [{ variable: 'PRODUCTION_HOST', kind: 'missing', message: /SEED_SOURCE=ssh needs an SSH host/ }])
  t.match(check({ '.env': 'SEED_SOURCE=url\n' }).errors, [{ variable: 'PRODUCTION_DATABASE_URL', kind: 'missing' }])
  t.match(check({ '.env': 'SEED_SOURCE=file\nSEED_FILE=/nonexistent/dump.sql\n' }).errors, [{ variable: 'SEED_FILE', message: /does not exist/ }])
  t.match(check({ '.env': 'PERSISTENT_DATA=true\n' }).errors, [{ variable: 'SESSION_SECRET', kind: 'missing', message: /PERSISTENT_DATA=true/ }])
  t.match(check({ '.env': 'ANONYMIZE=true\n' }).errors, [{ variable: 'ANONYMIZE_SALT', kind: 'missing' }])
  t.match(check({ '.env': 'GOOGLE_CLIENT_ID=123.apps.googleusercontent.com\n' }).errors, [{ variable: 'GOOGLE_CLIENT_SECRET', kind: 'missing' }])
  t.match(check({ '.env': 'SEED_ENVIRONMENTS=production,staging\nSTAGING_SOURCE=ssh\n' }).errors, [{ variable: 'STAGING_HOST', kind: 'missing' }])
  const ok = check({
    '.env': `PRODUCTION_HOST=prod.example.org\nPERSISTENT_DATA=true\nSESSION_SECRET=${'x'.repeat(32)}\nGOOGLE_CLIENT_ID=id\nGOOGLE_CLIENT_SECRET=secret\nADMIN_EMAIL=admin@example.org\n`,
  })
  t.same(ok.errors, [])
  t.same(ok.notices, [])
  t.match(ok.enabled.join('\n'), /Snapshot source: production \(ssh\+podman via prod\.example\.org\)/)
  t.match(ok.enabled.join('\n'), /OAuth login: Google/)
})
