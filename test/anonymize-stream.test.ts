// The anonymizer's stream mechanics, without servers: the output must not depend on where chunks are cut
// (a row, an escape, the "\." terminator or a COPY header split across reads), pass-through bytes stay
// byte-identical, and the COPY text codec round-trips.
import t from 'tap'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { generateDemoDump } from '../lib/demo/generate.ts'
import { hashPasswordWithSalt } from '../lib/demo/password.ts'
import { AnonymizeStream, decodeField, encodeField, hashEmail, keyed, normalizeRules, parseCopyHeader, type AnonymizeSettings } from '../lib/anonymize/index.ts'

const salt = 'stream-test-salt-0123456789'
const rules = normalizeRules({
  devPassword: 'dev-pass',
  passwordHash: hashPasswordWithSalt,
  tables: {
    users: { columns: { email: { transform: 'hash-email', unique: true }, name: 'fake-name', password_hash: 'password', google_id: 'hash', facebook_id: 'hash' } },
    session: 'truncate-table',
    pois: { columns: { name: 'keep', address: 'keep' } },
    job_logs: { columns: { job_name: 'keep' } },
  },
})
const settings: AnonymizeSettings = { rules, salt }
const oddSettings: AnonymizeSettings = {
  salt,
  rules: normalizeRules({ devPassword: 'dev-pass', passwordHash: hashPasswordWithSalt, tables: { 'app.Odd Table': { columns: { 'E-Mail': 'hash-email' } }, 'app.first': { columns: { email: 'hash-email' } } } }),
}

async function run(input: Buffer, chunk: number, opts = settings): Promise<{ out: Buffer; stream: AnonymizeStream }> {
  const parts: Buffer[] = []
  for (let i = 0; i < input.length; i += chunk) parts.push(input.subarray(i, i + chunk))
  const stream = new AnonymizeStream(opts)
  const got: Buffer[] = []
  await pipeline(Readable.from(parts), stream, new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) }))
  return { out: Buffer.concat(got), stream }
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

t.test('output is the same whatever the chunking', async (t) => {
  const demo = await collect(generateDemoDump({}))
  const whole = await run(demo, demo.length)
  for (const size of [4099, 61, 7]) {
    const { out } = await run(demo, size)
    t.ok(out.equals(whole.out), `chunks of ${size} bytes give the same bytes`)
  }
  // Only the users rows and the session rows differ from the input.
  const inLines = demo.toString('utf8').split('\n')
  const outLines = whole.out.toString('utf8').split('\n')
  t.equal(inLines.length - outLines.length, 40, 'the 40 session rows are gone')
  const usersAt = inLines.findIndex((l) => l.startsWith('COPY public.users '))
  const outUsersAt = outLines.findIndex((l) => l.startsWith('COPY public.users '))
  t.same(outLines.slice(0, outUsersAt).filter((l) => !/^\\(un)?restrict /.test(l)), inLines.filter((l, i) => i < usersAt && !/^\\(un)?restrict /.test(l) && !isSessionRow(inLines, i)))
  t.same(outLines.slice(outUsersAt + 251).filter((l) => !/^\\(un)?restrict /.test(l)), inLines.slice(usersAt + 251).filter((l) => !/^\\(un)?restrict /.test(l)), 'everything after the users rows is unchanged')
  t.same(whole.stream.result().warnings, [])
})

function isSessionRow(lines: string[], i: number): boolean {
  const start = lines.findIndex((l) => l.startsWith('COPY public.session '))
  const end = lines.findIndex((l, j) => j > start && l === '\\.')
  return i > start && i < end
}

t.test('an empty block, a terminator and a header cut at every byte', async (t) => {
  const dump = Buffer.from([
    '-- x',
    'COPY public.pois (id, name) FROM stdin;',
    '\\.',
    'COPY app."Odd Table" (id, "E-Mail", note) FROM stdin;',
    '1\ta\\tb@x.org\tnote\\\\.',
    '2\t\\N\t\\.',
    '\\.',
    'COPY app.first (email, n) FROM stdin;',
    '\t1',
    'x@y.org\t2',
    '\\.',
    'COPY public.events (id, title) FROM stdin;',
    '1\t\\\\.',
    '\\.',
    '-- PostgreSQL database dump complete',
    '',
  ].join('\n'))
  const k = keyed(salt)
  const expected = dump.toString().replace('a\\tb@x.org', hashEmail(k, 'a\tb@x.org')).replace('\n\t1\n', `\n${hashEmail(k, '')}\t1\n`).replace('x@y.org', hashEmail(k, 'x@y.org'))
  for (let size = 1; size <= 9; size++) {
    const { out, stream } = await run(dump, size, oddSettings)
    t.equal(out.toString(), expected, `chunks of ${size}`)
    t.same(stream.result().tables['app.Odd Table'], { rows: 2, truncated: false, columns: ['E-Mail'] })
    t.same(stream.result().tables['app.first'], { rows: 2, truncated: false, columns: ['email'] }, 'an empty first field is rewritten too')
  }
})

t.test('COPY header and field codec', async (t) => {
  t.same(parseCopyHeader('COPY public.users (id, email) FROM stdin;'), { schema: 'public', table: 'users', columns: ['id', 'email'] })
  t.same(parseCopyHeader('COPY "My Schema"."T ""q""" ("a,b", "C") FROM stdin;'), { schema: 'My Schema', table: 'T "q"', columns: ['a,b', 'C'] })
  t.same(parseCopyHeader('COPY t FROM stdin;'), { schema: 'public', table: 't', columns: [] })
  t.equal(parseCopyHeader('COPY t (a) TO stdout;'), undefined)
  for (const v of ['plain', 'tab\there', 'nl\nx', 'cr\rx', 'back\\slash', '\\.', '\\N', 'ü€😀', '', '\b\f\v']) t.equal(decodeField(encodeField(v)), v, JSON.stringify(v))
  t.equal(decodeField('\\N'), null)
  t.equal(encodeField(null), '\\N')
  t.equal(decodeField('\\101\\x42\\q'), 'ABq', 'octal, hex and a needless escape')
})
