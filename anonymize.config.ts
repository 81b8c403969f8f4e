// What `seed --anonymize` (or ANONYMIZE=true) does to each table of the reference app's dump before a
// single byte reaches the disk. Every column whose name looks personal needs a rule here; 'keep' says
// "looked at it, not personal". The salt that keys the fake values is ANONYMIZE_SALT in .env, never here.
import { defineAnonymizeRules } from './lib/anonymize/rules.ts'
import { hashPasswordWithSalt } from './lib/demo/password.ts'

export default defineAnonymizeRules({
  // Every user's password becomes this one, hashed in the app's scrypt format: log in as anyone.
  devPassword: 'rotv-dev-password',
  passwordHash: (password, salt) => hashPasswordWithSalt(password, salt),
  // Free-text detectors (e-mail, phone, IP, URL credentials, tokens) on every text column without a
  // rule, not only in tables with personal data: news bodies, event descriptions and job log lines are
  // where people paste addresses. A column can opt out with freeText: { column: false } on its table.
  freeText: 'all-tables',
  tables: {
    users: {
      columns: {
        email: { transform: 'hash-email', unique: true }, // UNIQUE (email)
        name: 'fake-name',
        google_id: { transform: 'hash', unique: true }, // UNIQUE (google_id)
        facebook_id: { transform: 'hash', unique: true }, // UNIQUE (facebook_id)
        password_hash: 'password',
      },
    },
    // Session ids are bearer tokens and sess holds user ids and CSRF secrets: nothing to keep.
    session: 'truncate-table',
    // Names of places and jobs, not of people.
    pois: { columns: { name: 'keep', address: 'keep' } },
    job_logs: { columns: { job_name: 'keep' } },
  },
})
