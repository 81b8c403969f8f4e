// validate-schema's engine without the CLI: the catalog reader sees every kind of object the issue
// lists (and only the user's), the comparison names what differs, and the throwaway server is stopped
// and removed when the work is cancelled.
import { existsSync } from 'node:fs'
import { Readable } from 'node:stream'
import pg from 'pg'
import t from 'tap'
import { generateDemoDump } from '../lib/demo/generate.ts'
import { CancelledError } from '../lib/errors.ts'
import { loadDump } from '../lib/loader/index.ts'
import { compareSchemas, describeDifference, readSchema, schemaOnly, validateSchema, type SchemaModel } from '../lib/schema/index.ts'
import { isPostgresProcess } from '../lib/postgres/status.ts'
import { MIGRATIONS_DIR } from './helpers/app-server.ts'
import { startProductionPostgres } from './helpers/production-postgres.ts'

// One schema with every kind of object; the second database gets it too, then one change per kind.
const SCHEMA = `
CREATE EXTENSION pg_trgm;
CREATE SCHEMA reporting;
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE SEQUENCE public.ticket_seq START 100 INCREMENT 5;
CREATE TABLE public.parks (id serial PRIMARY KEY, name text NOT NULL UNIQUE, area numeric(10,2) CHECK (area > 0), mood public.mood DEFAULT 'ok');
CREATE TABLE public.trails (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, park_id integer REFERENCES public.parks (id) ON DELETE CASCADE, length_km real);
CREATE INDEX trails_park_idx ON public.trails (park_id);
CREATE INDEX parks_name_trgm ON public.parks USING gin (name gin_trgm_ops);
CREATE VIEW reporting.big_parks AS SELECT id, name FROM public.parks WHERE area > 100;
CREATE MATERIALIZED VIEW reporting.park_counts AS SELECT park_id, count(*) AS n FROM public.trails GROUP BY park_id;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER parks_touch BEFORE UPDATE ON public.parks FOR EACH ROW EXECUTE FUNCTION public.touch();
`

const CHANGES = `
ALTER TYPE public.mood ADD VALUE 'ecstatic';
ALTER SEQUENCE public.ticket_seq INCREMENT 10;
ALTER TABLE public.parks ALTER COLUMN mood SET DEFAULT 'happy';
ALTER TABLE public.parks DROP CONSTRAINT parks_area_check, ADD CONSTRAINT parks_area_check CHECK (area >= 0);
ALTER TABLE public.trails DROP CONSTRAINT trails_park_id_fkey, ADD CONSTRAINT trails_park_id_fkey FOREIGN KEY (park_id) REFERENCES public.parks (id);
DROP INDEX public.trails_park_idx; CREATE INDEX trails_park_idx ON public.trails (park_id, length_km);
CREATE OR REPLACE VIEW reporting.big_parks AS SELECT id, name FROM public.parks WHERE area > 1000;
CREATE OR REPLACE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := trim(NEW.name); RETURN NEW; END $$;
DROP TRIGGER parks_touch ON public.parks; CREATE TRIGGER parks_touch BEFORE INSERT OR UPDATE ON public.parks FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE EXTENSION citext;
`

t.test('the catalog reader covers every kind of object, and the comparison names each change', async (t) => {
  const server = await startProductionPostgres({ databases: ['a', 'b'] })
  t.teardown(() => server.stop())
  await server.psql('a', ['-c', SCHEMA])
  await server.psql('b', ['-c', SCHEMA])
  await server.psql('b', ['-c', CHANGES])
  const read = async (db: string): Promise<SchemaModel> => {
    const client = new pg.Client({ connectionString: server.url(db) })
    await client.connect()
    try {
      return await readSchema(client)
    } finally {
      await client.end()
    }
  }
  const a = await read('a')
  const kinds = new Set([...a.objects.values()].map((o) => o.kind))
  t.same([...kinds].sort(), ['column', 'constraint', 'enum', 'extension', 'function', 'index', 'materialized view', 'schema', 'sequence', 'table', 'trigger', 'view'])
  t.notOk([...a.objects.values()].some((o) => o.kind === 'function' && o.name.includes('similarity')), 'pg_trgm\'s functions belong to the extension, not the schema')
  t.same(compareSchemas(a, await read('a')), [], 'a schema equals itself')

  const diffs = compareSchemas(a, await read('b'))
  const by = (kind: string, name: string) => diffs.find((d) => d.kind === kind && d.name === name)
  t.match(by('enum', 'public.mood'), { change: 'differs', production: { definition: "ENUM ('sad', 'ok', 'happy')" }, migrations: { definition: "ENUM ('sad', 'ok', 'happy', 'ecstatic')" } })
  t.match(by('sequence', 'public.ticket_seq'), { change: 'differs', fields: ['increment'] })
  t.match(by('column', 'mood'), { table: 'public.parks', fields: ['default'], production: { attributes: { default: "'ok'::public.mood" } }, migrations: { attributes: { default: "'happy'::public.mood" } } })
  t.match(by('constraint', 'parks_area_check'), { production: { definition: 'CHECK ((area > (0)::numeric))' }, migrations: { definition: 'CHECK ((area >= (0)::numeric))' } })
  t.match(by('constraint', 'trails_park_id_fkey'), { production: { definition: /ON DELETE CASCADE/ }, migrations: { definition: 'FOREIGN KEY (park_id) REFERENCES public.parks(id)' } })
  t.match(by('index', 'trails_park_idx'), { migrations: { definition: 'CREATE INDEX trails_park_idx ON public.trails USING btree (park_id, length_km)' } })
  t.match(by('view', 'reporting.big_parks'), { change: 'differs', migrations: { definition: /1000/ } })
  t.match(by('function', 'public.touch()'), { change: 'differs', migrations: { definition: /trim/ } })
  const text = describeDifference(by('function', 'public.touch()')!).join('\n')
  t.match(text, /^function public\.touch\(\): definitions differ \(- production, \+ migrations\)\n/)
  t.match(text, /\n {2}- .*BEGIN RETURN NEW; END/, 'the line only production has')
  t.match(text, /\n {2}\+ .*NEW\.name := trim\(NEW\.name\)/, 'the line only the migrations make')
  t.match(text, /\n {4}CREATE OR REPLACE FUNCTION public\.touch\(\)/, 'a line both have')
  t.match(by('trigger', 'parks_touch'), { migrations: { definition: /BEFORE INSERT OR UPDATE/ } })
  t.match(by('extension', 'citext'), { change: 'only-in-migrations', production: null })
  t.equal(diffs.length, 10, diffs.map((d) => `${d.kind} ${d.name}`).join(', '))
  t.notOk(by('column', 'id'), 'identity and serial columns that did not change are not reported')
})

t.test('the schema-only import keeps the schema and the migrations table, and leaves the data out', async (t) => {
  const server = await startProductionPostgres({ databases: ['full', 'schema'] })
  t.teardown(() => server.stop())
  const connection = (database: string) => ({ host: '127.0.0.1', port: server.port, user: 'postgres', database })
  await loadDump({ connection: connection('full'), input: generateDemoDump({ loadInto: 15 }) })
  const loaded = await loadDump({ connection: connection('schema'), input: schemaOnly(generateDemoDump({ loadInto: 15 })) })
  t.same(loaded.rows['public.schema_migrations'], 3, 'the migrations table keeps its rows')
  t.same(loaded.rows['public.pois'], 0, 'other tables are loaded empty')
  const client = new pg.Client(connection('schema'))
  await client.connect()
  const full = new pg.Client(connection('full'))
  await full.connect()
  try {
    t.same((await client.query('SELECT count(*)::int AS n FROM public.pois')).rows, [{ n: 0 }])
    t.same((await full.query('SELECT count(*)::int AS n FROM public.pois')).rows, [{ n: 371 }])
    t.same(compareSchemas(await readSchema(full), await readSchema(client)), [], 'the same schema as the full import')
  } finally {
    await client.end()
    await full.end()
  }
})

t.test('cancelling stops the throwaway server and removes its directory', async (t) => {
  const controller = new AbortController()
  let scratch: { dir: string; pid: number } | undefined
  // A dump that stops half-way until the work is cancelled: the abort lands inside the import.
  async function* halfADump(): AsyncGenerator<Buffer> {
    for await (const chunk of generateDemoDump()) {
      yield chunk as Buffer
      controller.abort()
      await new Promise(() => {})
    }
  }
  const work = validateSchema({
    snapshot: { name: 'demo', sha256: '0'.repeat(64), sqlBytes: 4 << 20, open: async () => Readable.from(halfADump()) },
    migrationsDir: MIGRATIONS_DIR,
    withData: true,
    signal: controller.signal,
    onScratchServer: (s) => (scratch = s),
  })
  await t.rejects(work, CancelledError)
  t.ok(scratch, 'a throwaway server was started')
  t.notOk(existsSync(scratch!.dir), `its directory ${scratch!.dir} is gone`)
  // isPostgresProcess: an exited postmaster may linger as a zombie until init reaps it.
  t.notOk(await isPostgresProcess(scratch!.pid), `its postmaster ${scratch!.pid} is gone`)
})
