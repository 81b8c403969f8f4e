// The demo dump's schema, object by object, in the exact text pg_dump prints for what app/migrations
// create. Every object is tagged with the migration that creates it, so a dump can leave out the newest
// migrations' objects to stand for an older snapshot. test/demo.test.ts compares this against a
// database migrated with lib/migrations.ts: when a migration changes, this file has to follow.

export type Section = 'pre-data' | 'post-data'

export interface TocEntry {
  /** Sort name, as pg_dump sorts objects of one kind. */
  name: string
  /** What the "-- Name: ...; Type: ..." comment says. */
  label: string
  type: string
  section: Section
  /** Kind order inside a section (pg_dump's priorities). */
  priority: number
  ddl: string
  /** The --clean statement, if this entry has one. */
  drop?: string
  /** Migration id that creates the object; undefined for the migrations table itself. */
  migration?: string
  /** Names of entries (same section) that must come first. */
  deps?: string[]
}

export interface TableSpec {
  name: string
  columns: string[]
  /** Serial sequence, if any. */
  sequence?: string
  migration?: string
}

const M1 = '001_initial'
const M2 = '002_job_logs'
const M3 = '003_destinations_view'

/** Tables in the dump, with their COPY column lists (pg_dump emits data in name order). */
export const TABLES: TableSpec[] = [
  { name: 'events', columns: ['id', 'poi_id', 'title', 'description', 'starts_at', 'ends_at', 'is_free', 'created_at', 'updated_at'], sequence: 'events_id_seq', migration: M1 },
  { name: 'job_logs', columns: ['id', 'job_name', 'run_id', 'level', 'message', 'logged_at'], sequence: 'job_logs_id_seq', migration: M2 },
  { name: 'news', columns: ['id', 'poi_id', 'title', 'summary', 'body', 'source_url', 'published_at', 'created_at', 'updated_at'], sequence: 'news_id_seq', migration: M1 },
  { name: 'pois', columns: ['id', 'slug', 'name', 'poi_type', 'is_destination', 'description', 'latitude', 'longitude', 'address', 'website', 'created_at', 'updated_at'], sequence: 'pois_id_seq', migration: M1 },
  { name: 'schema_migrations', columns: ['id', 'checksum', 'applied_at'] },
  { name: 'session', columns: ['sid', 'sess', 'expire'], migration: M1 },
  { name: 'users', columns: ['id', 'email', 'name', 'google_id', 'facebook_id', 'password_hash', 'role', 'is_admin', 'created_at', 'updated_at'], sequence: 'users_id_seq', migration: M1 },
]

/**
 * The schema's entries in pg_dump's output order, leaving out objects of the migrations in `omit`.
 * Within a kind pg_dump sorts by name, then pulls an object's dependencies in front of it.
 */
export function schemaEntries(omit: ReadonlySet<string> = new Set()): TocEntry[] {
  const kept = ALL_ENTRIES.filter((e) => e.migration === undefined || !omit.has(e.migration))
  return orderLikePgDump(kept)
}

// ---------------------------------------------------------------------------------------------------

const P_FUNCTION = 1
const P_TABLE = 2 // tables, views, sequences and OWNED BY share one sort group
const P_DEFAULT = 3
const P_CONSTRAINT = 10
const P_INDEX = 11
const P_TRIGGER = 12
const P_FK = 13

function table(name: string, body: string, migration: string | undefined, deps?: string[]): TocEntry {
  return { name, label: name, type: 'TABLE', section: 'pre-data', priority: P_TABLE, ddl: `CREATE TABLE public.${name} (\n${body}\n);`, drop: `DROP TABLE IF EXISTS public.${name};`, migration, deps }
}

function sequence(seq: string, tableName: string, bigint: boolean, migration: string): TocEntry[] {
  const as = bigint ? '' : '    AS integer\n'
  return [
    {
      name: seq, label: seq, type: 'SEQUENCE', section: 'pre-data', priority: P_TABLE, migration,
      ddl: `CREATE SEQUENCE public.${seq}\n${as}    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;`,
      drop: `DROP SEQUENCE IF EXISTS public.${seq};`,
      deps: [tableName],
    },
    {
      name: seq, label: seq, type: 'SEQUENCE OWNED BY', section: 'pre-data', priority: P_TABLE, migration,
      ddl: `ALTER SEQUENCE public.${seq} OWNED BY public.${tableName}.id;`,
      deps: [tableName],
    },
  ]
}

function serialDefault(tableName: string, seq: string, migration: string): TocEntry {
  return {
    name: tableName, label: `${tableName} id`, type: 'DEFAULT', section: 'pre-data', priority: P_DEFAULT, migration,
    ddl: `ALTER TABLE ONLY public.${tableName} ALTER COLUMN id SET DEFAULT nextval('public.${seq}'::regclass);`,
    drop: `ALTER TABLE IF EXISTS public.${tableName} ALTER COLUMN id DROP DEFAULT;`,
  }
}

function constraint(tableName: string, name: string, def: string, migration: string | undefined, fk = false): TocEntry {
  return {
    name, label: `${tableName} ${name}`, type: fk ? 'FK CONSTRAINT' : 'CONSTRAINT', section: 'post-data', priority: fk ? P_FK : P_CONSTRAINT, migration,
    ddl: `ALTER TABLE ONLY public.${tableName}\n    ADD CONSTRAINT ${name} ${def};`,
    drop: `ALTER TABLE IF EXISTS ONLY public.${tableName} DROP CONSTRAINT IF EXISTS ${name};`,
  }
}

function index(name: string, def: string, migration: string): TocEntry {
  const quoted = /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name}"`
  return {
    name, label: name, type: 'INDEX', section: 'post-data', priority: P_INDEX, migration,
    ddl: `CREATE INDEX ${quoted} ON public.${def};`,
    drop: `DROP INDEX IF EXISTS public.${quoted};`,
  }
}

function trigger(tableName: string): TocEntry {
  const name = `${tableName}_set_updated_at`
  return {
    name, label: `${tableName} ${name}`, type: 'TRIGGER', section: 'post-data', priority: P_TRIGGER, migration: M1,
    ddl: `CREATE TRIGGER ${name} BEFORE UPDATE ON public.${tableName} FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();`,
    drop: `DROP TRIGGER IF EXISTS ${name} ON public.${tableName};`,
  }
}

const TS = 'timestamp with time zone'
const STAMPS = `    created_at ${TS} DEFAULT now() NOT NULL,\n    updated_at ${TS} DEFAULT now() NOT NULL`

const ALL_ENTRIES: TocEntry[] = [
  {
    name: 'set_updated_at', label: 'set_updated_at()', type: 'FUNCTION', section: 'pre-data', priority: P_FUNCTION, migration: M1,
    ddl: 'CREATE FUNCTION public.set_updated_at() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;',
    drop: 'DROP FUNCTION IF EXISTS public.set_updated_at();',
  },
  table('events', [
    '    id integer NOT NULL,', '    poi_id integer,', '    title text NOT NULL,', '    description text,',
    `    starts_at ${TS} NOT NULL,`, `    ends_at ${TS},`, '    is_free boolean DEFAULT true NOT NULL,', `${STAMPS},`,
    '    CONSTRAINT events_check CHECK (((ends_at IS NULL) OR (ends_at >= starts_at)))',
  ].join('\n'), M1),
  ...sequence('events_id_seq', 'events', false, M1),
  table('job_logs', [
    '    id bigint NOT NULL,', '    job_name text NOT NULL,', '    run_id integer NOT NULL,', '    level text NOT NULL,',
    '    message text NOT NULL,', `    logged_at ${TS} NOT NULL,`,
    "    CONSTRAINT job_logs_level_check CHECK ((level = ANY (ARRAY['debug'::text, 'info'::text, 'warn'::text, 'error'::text])))",
  ].join('\n'), M2),
  ...sequence('job_logs_id_seq', 'job_logs', true, M2),
  table('news', [
    '    id integer NOT NULL,', '    poi_id integer,', '    title text NOT NULL,', '    summary text,', '    body text NOT NULL,',
    '    source_url text,', `    published_at ${TS} NOT NULL,`, STAMPS,
  ].join('\n'), M1),
  ...sequence('news_id_seq', 'news', false, M1),
  table('pois', [
    '    id integer NOT NULL,', '    slug text NOT NULL,', '    name text NOT NULL,', '    poi_type text NOT NULL,',
    '    is_destination boolean DEFAULT false NOT NULL,', '    description text,', '    latitude double precision NOT NULL,',
    '    longitude double precision NOT NULL,', '    address text,', '    website text,', `${STAMPS},`,
    "    CONSTRAINT pois_latitude_check CHECK (((latitude >= ('-90'::integer)::double precision) AND (latitude <= (90)::double precision))),",
    "    CONSTRAINT pois_longitude_check CHECK (((longitude >= ('-180'::integer)::double precision) AND (longitude <= (180)::double precision)))",
  ].join('\n'), M1),
  ...sequence('pois_id_seq', 'pois', false, M1),
  {
    name: 'destination_summary', label: 'destination_summary', type: 'VIEW', section: 'pre-data', priority: P_TABLE, migration: M3,
    ddl: [
      'CREATE VIEW public.destination_summary AS', ' SELECT p.id,', '    p.slug,', '    p.name,', '    p.poi_type,', '    p.latitude,',
      '    p.longitude,', '    ( SELECT count(*) AS count', '           FROM public.news n', '          WHERE (n.poi_id = p.id)) AS news_count,',
      '    ( SELECT count(*) AS count', '           FROM public.events e', '          WHERE (e.poi_id = p.id)) AS event_count',
      '   FROM public.pois p', '  WHERE p.is_destination;',
    ].join('\n'),
    drop: 'DROP VIEW IF EXISTS public.destination_summary;',
    deps: ['events', 'news', 'pois'],
  },
  table('schema_migrations', ['    id text NOT NULL,', '    checksum text NOT NULL,', `    applied_at ${TS} DEFAULT now() NOT NULL`].join('\n'), undefined),
  table('session', ['    sid character varying NOT NULL,', '    sess json NOT NULL,', '    expire timestamp(6) without time zone NOT NULL'].join('\n'), M1),
  table('users', [
    '    id integer NOT NULL,', '    email text NOT NULL,', '    name text NOT NULL,', '    google_id text,', '    facebook_id text,',
    '    password_hash text,', "    role text DEFAULT 'user'::text NOT NULL,", '    is_admin boolean DEFAULT false NOT NULL,', `${STAMPS},`,
    "    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['user'::text, 'editor'::text, 'admin'::text])))",
  ].join('\n'), M1),
  ...sequence('users_id_seq', 'users', false, M1),
  serialDefault('events', 'events_id_seq', M1),
  serialDefault('job_logs', 'job_logs_id_seq', M2),
  serialDefault('news', 'news_id_seq', M1),
  serialDefault('pois', 'pois_id_seq', M1),
  serialDefault('users', 'users_id_seq', M1),
  constraint('events', 'events_pkey', 'PRIMARY KEY (id)', M1),
  constraint('job_logs', 'job_logs_pkey', 'PRIMARY KEY (id)', M2),
  constraint('news', 'news_pkey', 'PRIMARY KEY (id)', M1),
  constraint('pois', 'pois_pkey', 'PRIMARY KEY (id)', M1),
  constraint('pois', 'pois_slug_key', 'UNIQUE (slug)', M1),
  constraint('schema_migrations', 'schema_migrations_pkey', 'PRIMARY KEY (id)', undefined),
  constraint('session', 'session_pkey', 'PRIMARY KEY (sid)', M1),
  constraint('users', 'users_email_key', 'UNIQUE (email)', M1),
  constraint('users', 'users_facebook_id_key', 'UNIQUE (facebook_id)', M1),
  constraint('users', 'users_google_id_key', 'UNIQUE (google_id)', M1),
  constraint('users', 'users_pkey', 'PRIMARY KEY (id)', M1),
  index('IDX_session_expire', 'session USING btree (expire)', M1),
  index('events_poi_id_idx', 'events USING btree (poi_id)', M1),
  index('job_logs_job_name_logged_at_idx', 'job_logs USING btree (job_name, logged_at)', M2),
  index('news_poi_id_idx', 'news USING btree (poi_id)', M1),
  index('news_published_at_idx', 'news USING btree (published_at DESC)', M1),
  index('pois_destination_name_idx', 'pois USING btree (name) WHERE is_destination', M3),
  index('pois_poi_type_idx', 'pois USING btree (poi_type)', M1),
  trigger('events'),
  trigger('news'),
  trigger('pois'),
  trigger('users'),
  constraint('events', 'events_poi_id_fkey', 'FOREIGN KEY (poi_id) REFERENCES public.pois(id) ON DELETE CASCADE', M1, true),
  constraint('news', 'news_poi_id_fkey', 'FOREIGN KEY (poi_id) REFERENCES public.pois(id) ON DELETE SET NULL', M1, true),
]

/** Sort by (section, priority, name, kind order), then emit each entry's dependencies before it. */
function orderLikePgDump(entries: TocEntry[]): TocEntry[] {
  const sectionRank = (s: Section) => (s === 'pre-data' ? 0 : 1)
  const sorted = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) =>
      sectionRank(a.e.section) - sectionRank(b.e.section) ||
      a.e.priority - b.e.priority ||
      (a.e.name < b.e.name ? -1 : a.e.name > b.e.name ? 1 : 0) ||
      a.i - b.i)
    .map((x) => x.e)
  const out: TocEntry[] = []
  const done = new Set<TocEntry>()
  const emit = (e: TocEntry) => {
    if (done.has(e)) return
    done.add(e)
    for (const dep of e.deps ?? []) {
      for (const d of sorted) if (d.name === dep && d.priority === e.priority && d.type !== e.type) emit(d)
    }
    out.push(e)
  }
  for (const e of sorted) emit(e)
  return out
}
