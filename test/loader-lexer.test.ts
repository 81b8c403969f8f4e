import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { DumpFormatError, TruncatedDumpError, UnknownMetaCommandError, splitStatements, type DumpItem } from '../lib/loader/index.ts'

const TRICKY = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/dumps/tricky.sql'))

async function* chunked(buf: Buffer, size: number | (() => number)): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; ) {
    const n = typeof size === 'number' ? size : size()
    yield buf.subarray(i, i + n)
    i += n
  }
}

/** Items with each COPY block's data joined, so different chunkings compare equal. */
async function split(input: string | Buffer, size: number | (() => number) = 1 << 20): Promise<DumpItem[]> {
  const out: DumpItem[] = []
  const buf = typeof input === 'string' ? Buffer.from(input) : input
  for await (const item of splitStatements(chunked(buf, size))) {
    const last = out[out.length - 1]
    if (item.kind === 'copy-data' && last?.kind === 'copy-data') {
      out[out.length - 1] = { kind: 'copy-data', data: Buffer.concat([last.data, item.data]) }
    } else {
      out.push(item)
    }
  }
  return out
}

const sqlOf = (items: DumpItem[]) => items.filter((i) => i.kind === 'statement' || i.kind === 'copy-start').map((i) => (i as { sql: string }).sql)

t.test('dollar quotes: tags, nested different tags, $1 parameters, $ in identifiers', async (t) => {
  const sql = [
    'CREATE FUNCTION f() RETURNS text AS $outer$ SELECT $inner$;$inner$ || $$;$$ || $x$ $out$ not $outer $x$; $outer$ LANGUAGE sql;',
    'PREPARE p(int) AS SELECT $1, $2;',
    'SELECT 1 AS a$b, $$;$$;',
    'SELECT $_tag$ $ ; $_$ ; $_tag$;',
    'SELECT 5;',
  ]
  t.same(sqlOf(await split(sql.join('\n'))), sql)
})

t.test('semicolons inside quotes, identifiers and comments do not end a statement', async (t) => {
  const sql = [
    `SELECT ';' AS "a;b", 'it''s; fine', "x"";y" /* ; /* nested ; */ still ; */ FROM t -- trailing ; comment\n  WHERE true;`,
    'SELECT 2;',
  ]
  const items = await split(sql.join('\n'))
  t.same(sqlOf(items), sql)
})

t.test("E'' strings: backslash escapes, \\' and '' inside, after a closed E-string", async (t) => {
  const sql = [`SELECT E'it\\'s; \\\\' AS a, e'x''y;\\'' AS b, E'\\\\';`, `SELECT 'plain \\' AS c;`, `SELECT E'a' 'b;c' AS d;`, 'SELECT 4;']
  t.same(sqlOf(await split(sql.join('\n'))), sql)
})

t.test('standard_conforming_strings=off makes backslash an escape in plain strings', async (t) => {
  const sql = ["SET standard_conforming_strings = off;", "SELECT 'a\\'; still the string';", 'SET standard_conforming_strings = on;', "SELECT 'b\\';", 'SELECT 5;']
  t.same(sqlOf(await split(sql.join('\n'))), sql)
})

t.test('multi-line strings: positions of later statements count their lines and bytes', async (t) => {
  const text = "SELECT 'one\ntwo\nthree';\n\n  SELECT $$a\nb$$;\nSELECT \"x\ny\";\nSELECT 4;\n"
  const items = await split(text)
  t.same(
    items.map((i) => ('line' in i ? [i.line, i.offset] : null)),
    [
      [1, 0],
      [5, text.indexOf('SELECT $$')],
      [7, text.indexOf('SELECT "x')],
      [9, text.indexOf('SELECT 4')],
    ],
  )
})

t.test('the tricky dump splits the same with every chunking, down to 1-byte chunks', async (t) => {
  const whole = await split(TRICKY)
  t.same(
    whole.map((i) => i.kind),
    ['comment', 'comment', 'comment', 'meta', 'comment', 'comment', 'statement', 'statement', 'statement', 'statement', 'statement', 'statement', 'statement', 'copy-start', 'copy-data', 'copy-end', 'statement', 'comment', 'comment', 'comment', 'meta'],
  )
  t.same(await split(TRICKY, 1), whole, '1-byte chunks')
  for (let size = 2; size <= 13; size++) t.same(await split(TRICKY, size), whole, `${size}-byte chunks`)
  let seed = 7
  const random = () => 1 + ((seed = (seed * 1103515245 + 12345) % 2147483648) % 97)
  t.same(await split(TRICKY, random), whole, 'random chunks')
  // every cut position as a two-chunk split
  for (let cut = 1; cut < TRICKY.length; cut++) {
    const items: DumpItem[] = []
    const two = async function* () {
      yield TRICKY.subarray(0, cut)
      yield TRICKY.subarray(cut)
    }
    for await (const item of splitStatements(two())) items.push(item)
    const joined = await split(Buffer.concat([TRICKY.subarray(0, cut), TRICKY.subarray(cut)]))
    const merged: DumpItem[] = []
    for (const item of items) {
      const last = merged[merged.length - 1]
      if (item.kind === 'copy-data' && last?.kind === 'copy-data') merged[merged.length - 1] = { kind: 'copy-data', data: Buffer.concat([last.data, item.data]) }
      else merged.push(item)
    }
    if (JSON.stringify(merged) !== JSON.stringify(joined)) {
      t.fail(`cut at byte ${cut} splits differently`)
      return
    }
  }
  t.pass('all two-chunk cuts agree')
})

t.test('COPY data passes through byte for byte (escapes, \\N, non-ASCII, an escaped \\\\.)', async (t) => {
  const items = await split(TRICKY, 3)
  const data = items.find((i) => i.kind === 'copy-data')
  const text = TRICKY.toString('utf8')
  const start = text.indexOf('1\ta\\tb')
  const end = text.indexOf('\\.\n\nSELECT')
  t.equal(data?.kind === 'copy-data' && data.data.toString('utf8'), text.slice(start, end))
  const copyEnd = items.find((i) => i.kind === 'copy-end')
  t.match(copyEnd, { kind: 'copy-end', line: 33, dataLine: 29 })
  const after = items.find((i) => i.kind === 'statement' && i.sql.startsWith("SELECT 'it''s'"))
  t.match(after, { line: 35, offset: Buffer.byteLength(text.slice(0, text.indexOf("SELECT 'it''s'"))) })
})

t.test('\\. with CRLF line endings ends the COPY block; a row starting with \\.x does not', async (t) => {
  const items = await split('COPY t (a) FROM stdin;\r\n\\.x\r\n\\.\r\nSELECT 1;\n')
  t.same(
    items.map((i) => i.kind),
    ['copy-start', 'copy-data', 'copy-end', 'statement'],
  )
  t.equal(items[1]?.kind === 'copy-data' && items[1].data.toString(), '\\.x\r\n')
})

t.test('meta-commands: \\restrict, \\unrestrict and \\connect pass, others are refused by name', async (t) => {
  const items = await split('\\connect -reuse-previous=on "dbname=\'x\'"\n\\restrict KEY1\nSELECT 1;\n\\unrestrict KEY1\n')
  t.same(
    items.map((i) => (i.kind === 'meta' ? [i.command, i.args] : i.kind)),
    [['\\connect', '-reuse-previous=on "dbname=\'x\'"'], ['\\restrict', 'KEY1'], 'statement', ['\\unrestrict', 'KEY1']],
  )
  const err = await split('SELECT 1;\n\n\\i /etc/passwd\nSELECT 2;\n').catch((e) => e)
  t.type(err, UnknownMetaCommandError)
  t.equal(err.command, '\\i')
  t.match(err.position, { line: 3, offset: 11 })
  t.match(err.message, /\\i.*line 3/)
})

t.test('truncated input: inside COPY data, inside a statement, inside a dollar quote', async (t) => {
  const text = TRICKY.toString('utf8')
  const inCopy = await split(text.slice(0, text.indexOf('3\t\\N'))).catch((e) => e)
  t.type(inCopy, TruncatedDumpError)
  t.match(inCopy.message, /COPY data that starts at line 29/)
  const inStatement = await split('SELECT 1;\nCREATE TABLE x (a int').catch((e) => e)
  t.type(inStatement, TruncatedDumpError)
  t.match(inStatement.message, /started at line 2/)
  const inDollar = await split('SELECT $x$ never closed; ').catch((e) => e)
  t.type(inDollar, TruncatedDumpError)
  t.match(inDollar.message, /dollar-quoted/)
})

t.test('garbage is refused clearly instead of hanging', async (t) => {
  const nul = await split(Buffer.from('SELECT 1;\nSEL\0ECT 2;\n')).catch((e) => e)
  t.type(nul, DumpFormatError)
  t.match(nul.position, { line: 2, offset: 13 })
  const gz = await split(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])).catch((e) => e)
  t.type(gz, DumpFormatError)
  t.match(gz.message, /gzip/)
  const custom = await split(Buffer.from('PGDMP\x01\x0e\x00')).catch((e) => e)
  t.type(custom, DumpFormatError)
  t.match(custom.message, /custom-format/)
  let long = 0
  const unterminated = async function* () {
    yield Buffer.from("SELECT 'oops;\n")
    for (;;) {
      long++
      yield Buffer.alloc(64 * 1024, 0x61)
    }
  }
  const tooLong: unknown = await (async () => {
    for await (const _ of splitStatements(unterminated(), { maxStatementBytes: 1024 * 1024 })) void _
  })().catch((e) => e)
  t.type(tooLong, DumpFormatError)
  t.match((tooLong as Error).message, /longer than 1048576 bytes .*starts at line 1/)
  t.ok(long < 40, 'gave up soon after the limit')
  t.match((tooLong as DumpFormatError).fix, /psql -f.*unterminated quote/, 'the fix covers both causes')
})

t.test('a statement over 128 MiB (the old limit) is one statement, as psql reads it', async (t) => {
  const size = 129 * 1024 * 1024
  const input = async function* () {
    yield Buffer.from("INSERT INTO t VALUES ('")
    for (let sent = 0; sent < size; sent += 1 << 20) yield Buffer.alloc(1 << 20, 0x61)
    yield Buffer.from("');\n-- PostgreSQL database dump complete\n")
  }
  const lengths: number[] = []
  for await (const item of splitStatements(input())) if (item.kind === 'statement') lengths.push(item.sql.length)
  t.same(lengths, [size + 26])
})
