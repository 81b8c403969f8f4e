// The loader against psql, the reference: each case is a dump that psql loads (or refuses); the loader
// and `psql -f` load it into two fresh databases of the embedded PostgreSQL 17 (the runner's target),
// and the catalogs and every table's rows must be identical (or both must refuse, the loader naming
// the line and byte offset).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DumpLoadError, loadDump, openDumpFile, type LoadResult } from '../lib/loader/index.ts'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { EMBEDDED_BIN, adminQuery, catalogFingerprint, psqlLoad } from './helpers/psql-reference.ts'

interface Case {
  name: string
  /** The dump's bytes (a string is UTF-8); the header and trailer pg_dump writes are added. */
  body: string | Buffer
  /** Without: the loader must load what psql loads, and psql must load it without an error. */
  refused?: { loader: RegExp; psql: RegExp; line: number }
  /** Bytes before the header (a byte-order mark). */
  prefix?: Buffer
  /** Extra checks on the loader's result. */
  check?: (t: Test, result: LoadResult) => void
}

const HEADER = `--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;

`
const TRAILER = `
--
-- PostgreSQL database dump complete
--

`
const HEADER_LINES = HEADER.split('\n').length - 1

const latin1 = (s: string) => Buffer.from(s, 'latin1')

const cases: Case[] = [
  {
    name: 'a multi-action rule: the ; inside DO ( ... ) does not end the statement',
    body: `CREATE TABLE public.a (id integer);
CREATE TABLE public.b (id integer);
CREATE TABLE public.t (id integer);
CREATE RULE r AS
    ON DELETE TO public.t DO ( DELETE FROM public.a
  WHERE (a.id = old.id);
 DELETE FROM public.b
  WHERE (b.id = old.id);
);
COPY public.a (id) FROM stdin;
1
2
\\.
COPY public.b (id) FROM stdin;
1
\\.
`,
  },
  {
    name: 'BEGIN ATOMIC bodies (with CASE ... END inside) are one statement',
    body: `CREATE TABLE public.t (id integer);
CREATE FUNCTION public.sign_of(x integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC
 SELECT 0;
 SELECT CASE
             WHEN (x > 0) THEN 1
             WHEN (x < 0) THEN '-1'::integer
             ELSE 0
         END AS "case";
END;
CREATE OR REPLACE PROCEDURE public.add_row(IN v integer)
    LANGUAGE sql
    BEGIN ATOMIC
 INSERT INTO public.t (id)
   VALUES (v);
 INSERT INTO public.t (id)
   VALUES ((v + 1));
END;
COPY public.t (id) FROM stdin;
5
\\.
`,
  },
  {
    name: 'a UTF-8 byte-order mark before the first line',
    prefix: Buffer.from([0xef, 0xbb, 0xbf]),
    body: `CREATE TABLE public.t (id integer, s text);
INSERT INTO public.t VALUES (1, 'Zoë');
`,
  },
  {
    name: "SET client_encoding = 'LATIN1': statements and COPY data are decoded in LATIN1",
    body: latin1(`SET client_encoding = 'LATIN1';
CREATE TABLE public.t (id integer, s text);
COMMENT ON TABLE public.t IS 'caf\u00e9 cr\u00e8me';
INSERT INTO public.t VALUES (1, 'na\u00efve \u00bd');
COPY public.t (id, s) FROM stdin;
2	\u00e9t\u00e9
\\.
`),
  },
  {
    name: 'invalid UTF-8 inside a statement is refused, not stored as U+FFFD',
    body: Buffer.concat([
      Buffer.from(`CREATE TABLE public.t (id integer, s text);
INSERT INTO public.t VALUES (1, 'ok');
INSERT INTO public.t VALUES (2, 'bad `),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`');
`),
    ]),
    refused: { loader: /invalid byte sequence for encoding "UTF8" in the statement at line \d+ \(byte offset \d+\)/, psql: /invalid byte sequence for encoding "UTF8"/, line: 3 },
  },
]

let server: TestPostgres
let dir: string
let n = 0

t.before(async () => {
  server = await startProductionPostgres({ binDir: EMBEDDED_BIN })
  dir = await mkdtemp(join(tmpdir(), 'rotv-loader-psql-'))
})
t.teardown(async () => {
  await server?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

for (const c of cases) {
  t.test(c.name, async (t) => {
    const file = join(dir, `case${++n}.sql`)
    await writeFile(file, Buffer.concat([c.prefix ?? Buffer.alloc(0), Buffer.from(HEADER), Buffer.from(c.body), Buffer.from(TRAILER)]))
    const [viaPsql, viaLoader] = [`psql${n}`, `loader${n}`]
    await adminQuery(server, `CREATE DATABASE ${viaPsql}`)
    await adminQuery(server, `CREATE DATABASE ${viaLoader}`)
    const psql = await psqlLoad(server, viaPsql, file)
    const loaded = await loadDump({ connection: { connectionString: server.url(viaLoader) }, input: openDumpFile(file), parallel: 2 }).then(
      (r) => r,
      (e: unknown) => e as Error,
    )
    if (c.refused) {
      t.match(psql.errors.join('\n'), c.refused.psql, 'psql reports it')
      t.type(loaded, DumpLoadError, 'the loader refuses it')
      t.match((loaded as Error).message, c.refused.loader)
      t.equal((loaded as DumpLoadError).position?.line, HEADER_LINES + c.refused.line, 'at the line of the statement')
      return
    }
    t.same(psql.errors, [], 'psql loads it without an error')
    if (loaded instanceof Error) {
      t.fail(`the loader failed: ${loaded.message}`)
      return
    }
    const expected = await catalogFingerprint(server.url(viaPsql))
    t.ok(expected.some((l) => l.startsWith('rows ')), 'the fingerprint holds row checksums')
    t.same(await catalogFingerprint(server.url(viaLoader)), expected, 'same catalogs and rows as psql')
    c.check?.(t, loaded)
  })
}
