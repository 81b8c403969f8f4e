import t from 'tap'
import { classifyStatement, normalizeName } from '../lib/loader/classify-statement.ts'

t.test('session state is keyed by parameter', async (t) => {
  t.same(classifyStatement("SET default_tablespace = '';"), { kind: 'session', key: 'default_tablespace' })
  t.same(classifyStatement("SELECT pg_catalog.set_config('search_path', '', false);"), { kind: 'session', key: 'search_path' })
  t.same(classifyStatement('SET SESSION AUTHORIZATION alice;'), { kind: 'session', key: 'session authorization' })
  t.same(classifyStatement("SET TIME ZONE 'UTC';"), { kind: 'session', key: 'time zone' })
  t.same(classifyStatement('SET LOCAL work_mem = 1;'), { kind: 'other' }, 'SET LOCAL is not session state')
  t.same(classifyStatement("SELECT pg_catalog.set_config('search_path', '', true);"), { kind: 'other' })
})

t.test('post-data DDL names the tables it touches', async (t) => {
  t.same(classifyStatement('CREATE INDEX posts_idx ON app.posts USING btree (a);'), { kind: 'table-ddl', tables: ['app.posts'], creates: { index: 'app.posts_idx' } })
  t.same(classifyStatement('CREATE UNIQUE INDEX "Idx" ON ONLY public."Parent" USING btree (a);'), { kind: 'table-ddl', tables: ['public."Parent"'], creates: { index: 'public."Idx"' } })
  t.same(classifyStatement('ALTER TABLE ONLY app.posts\n    ADD CONSTRAINT posts_pkey PRIMARY KEY (id);'), {
    kind: 'table-ddl',
    tables: ['app.posts'],
    viaIndex: { name: 'posts_pkey', type: 'PRIMARY KEY', columns: '(id)' },
  })
  t.same(classifyStatement('ALTER TABLE ONLY app.posts\n    ADD CONSTRAINT posts_author_fkey FOREIGN KEY (author_id) REFERENCES app.users(id);'), { kind: 'table-ddl', tables: ['app.posts', 'app.users'] })
  t.same(classifyStatement('ALTER TABLE ONLY app.users\n    ADD CONSTRAINT users_manager_fkey FOREIGN KEY (m) REFERENCES app.users(id);'), { kind: 'table-ddl', tables: ['app.users'] }, 'self-reference')
  t.same(classifyStatement('ALTER TABLE public.parent\n    ADD CONSTRAINT p_fkey FOREIGN KEY (a) REFERENCES public.x(id);'), { kind: 'other' }, 'without ONLY it recurses: serial')
  t.same(classifyStatement('CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE ON app.posts FOR EACH ROW EXECUTE FUNCTION app.touch();'), { kind: 'table-ddl', tables: ['app.posts'] })
  t.same(classifyStatement("COMMENT ON INDEX app.posts_idx IS 'x';"), { kind: 'index-comment', index: 'app.posts_idx' })
  t.same(classifyStatement('CREATE INDEX CONCURRENTLY i ON t (a);'), { kind: 'other' })
  t.same(classifyStatement('ALTER INDEX public.p_pkey ATTACH PARTITION public.c_pkey;'), { kind: 'other' })
  t.same(classifyStatement('REFRESH MATERIALIZED VIEW app.mv;'), { kind: 'other' })
})

t.test('only a plain PRIMARY KEY / UNIQUE (columns) is built as an index, then attached', async (t) => {
  t.same(classifyStatement('ALTER TABLE ONLY "App"."T"\n    ADD CONSTRAINT "T_Key" UNIQUE (a, "B c");'), {
    kind: 'table-ddl',
    tables: ['"App"."T"'],
    viaIndex: { name: '"T_Key"', type: 'UNIQUE', columns: '(a, "B c")' },
  })
  for (const rest of [
    'PRIMARY KEY (id) DEFERRABLE',
    'PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED',
    'UNIQUE NULLS NOT DISTINCT (a)',
    'UNIQUE (a) INCLUDE (b)',
    'PRIMARY KEY (id) WITH (fillfactor=70)',
    'PRIMARY KEY (id) USING INDEX TABLESPACE fast',
    'UNIQUE USING INDEX t_a_idx',
    'EXCLUDE USING gist (r WITH &&)',
    'CHECK ((a > 0))',
  ]) {
    t.same(classifyStatement(`ALTER TABLE ONLY app.t\n    ADD CONSTRAINT c ${rest};`), { kind: 'table-ddl', tables: ['app.t'] }, rest)
  }
})

t.test('tables, COPY targets, extensions, sequences', async (t) => {
  t.same(classifyStatement('CREATE TABLE app."Mixed Case; Table" (\n "Key" text\n);'), { kind: 'create-table', table: 'app."Mixed Case; Table"', partitioned: false })
  t.same(classifyStatement('CREATE TABLE public.m (\n a int\n)\nPARTITION BY RANGE (a);'), { kind: 'create-table', table: 'public.m', partitioned: true })
  t.same(classifyStatement('COPY "App".users (id) FROM stdin;'), { kind: 'copy', table: '"App".users' })
  t.same(classifyStatement('CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;'), { kind: 'create-extension', name: 'postgis' })
  t.same(classifyStatement("SELECT pg_catalog.setval('app.s', 5, true);"), { kind: 'sequence-set' })
  t.same(classifyStatement('BEGIN;'), { kind: 'transaction', opens: true })
  t.same(classifyStatement('COMMIT;'), { kind: 'transaction', opens: false })
})

t.test('names are normalised the way PostgreSQL folds them', async (t) => {
  t.equal(normalizeName('Public.Users'), 'public.users')
  t.equal(normalizeName('"public"."users"'), 'public.users')
  t.equal(normalizeName('app."Mixed ""Q"""'), 'app."Mixed ""Q"""')
})
