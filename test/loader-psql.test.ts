// The loader against psql, the reference: each case is a dump that psql loads (or refuses); the loader
// and `psql -f` load it into two fresh databases of the embedded PostgreSQL 17 (the runner's target),
// and the catalogs and every table's rows must be identical (or both must refuse, the loader naming
// the line and byte offset).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DumpLoadError, loadDump, openDumpFile, type LoadResult } from '../lib/loader/index.ts'
import { connectTarget } from '../lib/loader/load-dump.ts'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { EMBEDDED_BIN, adminQuery, catalogFingerprint, psqlLoad } from './helpers/psql-reference.ts'

interface Case {
  name: string
  /** The dump's bytes (a string is UTF-8); the header and trailer pg_dump writes are added. */
  body: string | Buffer
  /** Without: the loader must load what psql loads, and psql must load it without an error. */
  refused?: { loader: RegExp; psql?: RegExp; line: number; fix?: RegExp }
  /** psql's errors that it passes over (the loader must end with the same database, and no error). */
  psqlErrors?: RegExp
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
    name: 'the --clean --if-exists prologue into an empty database (ALTER DOMAIN ... DROP CONSTRAINT IF EXISTS of a domain not made yet)',
    body: `ALTER TABLE IF EXISTS ONLY public.c DROP CONSTRAINT IF EXISTS c_p_fkey;
ALTER TABLE IF EXISTS ONLY public.p DROP CONSTRAINT IF EXISTS p_pkey;
ALTER DOMAIN public.pos DROP CONSTRAINT IF EXISTS pos_check;
ALTER TABLE IF EXISTS public.p ALTER COLUMN id DROP DEFAULT;
DROP SEQUENCE IF EXISTS public.p_id_seq;
DROP TABLE IF EXISTS public.p;
DROP TABLE IF EXISTS public.c;
DROP DOMAIN IF EXISTS public.pos;
CREATE DOMAIN public.pos AS integer;
CREATE TABLE public.p (id integer NOT NULL, v public.pos);
CREATE SEQUENCE public.p_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
ALTER SEQUENCE public.p_id_seq OWNED BY public.p.id;
CREATE TABLE public.c (p_id integer);
ALTER TABLE ONLY public.p ALTER COLUMN id SET DEFAULT nextval('public.p_id_seq'::regclass);
COPY public.p (id, v) FROM stdin;
1	-5
2	7
\\.
COPY public.c (p_id) FROM stdin;
1
\\.
SELECT pg_catalog.setval('public.p_id_seq', 2, true);
ALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);
ALTER DOMAIN public.pos ADD CONSTRAINT pos_check CHECK ((VALUE > 0)) NOT VALID;
ALTER TABLE ONLY public.c ADD CONSTRAINT c_p_fkey FOREIGN KEY (p_id) REFERENCES public.p(id);
`,
    psqlErrors: /type "public\.pos" does not exist/,
    check: (t, r) => t.same(r.warnings, [], 'nothing to warn about: the prologue had nothing to drop'),
  },
  {
    name: 'rows that reach a table before its COPY (an INSERT, an earlier COPY block) are kept',
    body: `CREATE TABLE public.t (id integer, s text);
INSERT INTO public.t VALUES (1, 'inserted');
COPY public.t (id, s) FROM stdin;
2	first block
\\.
COPY public.t (id, s) FROM stdin;
3	second block
4	second block
\\.
`,
    check: (t, r) => t.same(r.rows, { 'public.t': 3 }, 'the COPY rows, both blocks'),
  },
  {
    name: "an inline REFERENCES before the referenced table's COPY (TRUNCATE would be refused)",
    body: `CREATE TABLE public.parent (id integer PRIMARY KEY);
CREATE TABLE public.child (id integer, parent_id integer REFERENCES public.parent(id));
COPY public.parent (id) FROM stdin;
1
2
\\.
COPY public.child (id, parent_id) FROM stdin;
10	1
11	2
\\.
`,
    check: (t, r) => t.same(r.rows, { 'public.parent': 2, 'public.child': 2 }),
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
  {
    name: 'lz4 column compression on a server built without lz4: the object, what is missing, the fix',
    body: `CREATE TABLE public.t (id integer, s text);
ALTER TABLE ONLY public.t ALTER COLUMN s SET COMPRESSION lz4;
`,
    refused: {
      loader: /this server cannot make ALTER TABLE ONLY public\.t: it needs lz4 compression support/,
      psql: /compression method lz4 not supported/,
      line: 2,
      fix: /PG_BIN_DIR .*lz4.*SET COMPRESSION pglz/,
    },
  },
  {
    name: 'a C-language function whose library the server lacks: the object, the library, the fix',
    body: `CREATE FUNCTION public.cfun(integer) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT
    AS '$libdir/nosuch_regress', 'cfun';
`,
    refused: {
      loader: /this server cannot make CREATE FUNCTION public\.cfun\(integer\): it needs the C library \$libdir\/nosuch_regress/,
      psql: /could not access file "\$libdir\/nosuch_regress"/,
      line: 1,
      fix: /pkglibdir/,
    },
  },
  {
    // psql would load the rest into the other database; the loader loads one database: refused
    name: '\\connect to another database is refused, naming it and the line',
    body: `CREATE TABLE public.t (id integer);
\\connect -reuse-previous=on "dbname='otherdb'"
CREATE TABLE public.u (id integer);
`,
    refused: { loader: /switches to database "otherdb" \(\\connect -reuse-previous=on "dbname='otherdb'"\), and the loader loads into one database \("loader\d+[ab]"\)/, line: 2 },
  },
]

t.test('which database a \\connect names', async (t) => {
  t.equal(connectTarget('otherdb'), 'otherdb')
  t.equal(connectTarget('"my ""db"""'), 'my "db"')
  t.equal(connectTarget(`-reuse-previous=on "dbname='it\\'s'"`), "it's")
  t.equal(connectTarget('- postgres'), undefined, 'the current database, another user')
  t.equal(connectTarget(''), undefined)
})

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

// Each case loads twice: with workers (as a big dump does) and on one connection (as a small one does).
const MODES = [
  { mode: 'with workers', extra: { parallel: 2, smallDumpBytes: 0 } },
  { mode: 'on one connection (small dump)', extra: {} },
] as const

for (const c of cases) {
  t.test(c.name, async (t) => {
    const file = join(dir, `case${++n}.sql`)
    await writeFile(file, Buffer.concat([c.prefix ?? Buffer.alloc(0), Buffer.from(HEADER), Buffer.from(c.body), Buffer.from(TRAILER)]))
    const viaPsql = `psql${n}`
    await adminQuery(server, `CREATE DATABASE ${viaPsql}`)
    const psql = await psqlLoad(server, viaPsql, file)
    if (c.refused) {
      if (c.refused.psql) t.match(psql.errors.join('\n'), c.refused.psql, 'psql reports it')
    } else if (c.psqlErrors) {
      t.ok(psql.errors.length > 0, 'psql reports errors and goes on')
      for (const e of psql.errors) t.match(e, c.psqlErrors, 'only the expected ones')
    } else {
      t.same(psql.errors, [], 'psql loads it without an error')
    }
    const expected = c.refused ? [] : await catalogFingerprint(server.url(viaPsql))
    if (!c.refused) t.ok(expected.some((l) => l.startsWith('rows ')), 'the fingerprint holds row checksums')
    for (const [i, { mode, extra }] of MODES.entries()) {
      const viaLoader = `loader${n}${'ab'[i]}`
      await adminQuery(server, `CREATE DATABASE ${viaLoader}`)
      const loaded = await loadDump({ connection: { connectionString: server.url(viaLoader) }, input: openDumpFile(file), ...extra }).then(
        (r) => r,
        (e: unknown) => e as Error,
      )
      if (c.refused) {
        t.type(loaded, DumpLoadError, `${mode}: the loader refuses it`)
        t.match((loaded as Error).message, c.refused.loader, mode)
        t.equal((loaded as DumpLoadError).position?.line, HEADER_LINES + c.refused.line, `${mode}: at the line of the statement`)
        if (c.refused.fix) t.match((loaded as DumpLoadError).fix, c.refused.fix, `${mode}: the fix`)
        continue
      }
      if (loaded instanceof Error) {
        t.fail(`${mode}: the loader failed: ${loaded.message}`)
        continue
      }
      t.same(await catalogFingerprint(server.url(viaLoader)), expected, `${mode}: same catalogs and rows as psql`)
      c.check?.(t, loaded)
    }
  })
}
