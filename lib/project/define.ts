// The project file's contract: what the engine needs to know about an app, and nothing the engine
// assumes. A project file (project.config.ts at the root) default-exports defineProject({...}); with no
// `app` it declares a database-only project (`start` brings up PostgreSQL with the snapshot, nothing more).
import type { VariableKind } from '../config/variables.ts'

export interface ProjectDefinition {
  /** Shown in --help and messages (default: the root folder's name). */
  name?: string
  /** The app the runner supervises; leave out for a database-only project. */
  app?: AppDefinition
  /** How the app's schema reaches the database after the snapshot is loaded (default: nothing). */
  migrations?: MigrationsDefinition
  /** Variables the app reads: validate-env checks them, .env.example documents them, the app gets them. */
  variables?: readonly ProjectVariable[]
  /** Further empty databases made next to the app's (e.g. one the app's own tests use). */
  extraDatabases?: readonly string[] | ((dbName: string) => readonly string[])
  /** Defaults of the engine's names (each still overridden by its variable). */
  names?: ProjectNames
  /** A module whose default export writes demo data (plain SQL) to a stream: `SEED_SOURCE=demo`. */
  demo?: string
}

export interface AppDefinition {
  /** The app's folder, relative to the root. */
  dir: string
  /**
   * The command that starts the app, a process the runner supervises. `node` means the runner's own
   * Node.js; other commands are looked up on PATH. Paths in args are relative to cwd.
   */
  start: { command: string; args?: readonly string[]; cwd?: string }
  /** When the app is ready. Default: HTTP GET / answers 200. */
  readiness?: Readiness
  /** What the ready line shows after `start`. Default: nothing beyond the URL. */
  readyLine?: ReadyLine
  /** A build step (a frontend) run before the app starts, only when an input is newer than the output. */
  build?: BuildStep
  /** The app's folder inside the container image (the container runtime). Default: /opt/app. */
  containerDir?: string
}

export type Readiness =
  | { http: string; status?: number }
  | { tcp: true }
  | { command: string; args?: readonly string[] }

export type ReadyLine =
  /** A field of the JSON health answer (http readiness), e.g. `counts`: its numbers are listed. */
  | { healthField: string; labels?: Record<string, string> }
  /** Row counts of these tables, counted after readiness. */
  | { tableCounts: readonly string[] }

export interface BuildStep {
  command: string
  args?: readonly string[]
  /** Files or folders (relative to the app's folder) whose change means a rebuild. */
  inputs: readonly string[]
  /** The file the build writes (relative to the app's folder): missing or older than an input = build. */
  output: string
}

export type MigrationsDefinition =
  /** Numbered .sql files run by the engine's runner, recorded in schema_migrations. Path relative to the root. */
  | { sql: string }
  /** The app's migrator (knex, node-pg-migrate, prisma migrate deploy, ...), run with the app's environment. */
  | { command: string; args?: readonly string[]; cwd?: string; inputs: readonly string[] }
  /** The app creates and migrates its schema itself at start-up. */
  | 'app'

export interface ProjectNames {
  /** DB_NAME's default. */
  database?: string
  /** ROTV_HOME's default. */
  dataHome?: string
  /** ROTV_CONTAINER_NAME's default. */
  container?: string
  /** ROTV_IMAGE's default. */
  image?: string
}

export interface ProjectVariable {
  name: string
  kind: VariableKind
  description: string
  /** The heading it is listed under in .env.example (default: the project's name). */
  group?: string
  default?: string
  values?: readonly string[]
  placeholder?: string
  secret?: boolean
  minLength?: number
  /** When it must be set: always, or in persistent mode (PERSISTENT_DATA=true). */
  required?: 'always' | 'persistent'
  /** Why it is required and the fix, for validate-env's message. */
  requiredWhy?: string
  fix?: string
  /** Variables that must be set along with this one (a pair such as an OAuth id and secret). */
  with?: readonly string[]
  /** validate-env: what this variable turns on ({value} is its value, never for secrets) and what is off without it. */
  whenSet?: string
  whenUnset?: string
}

export interface Project {
  /** The project file, when there is one. */
  file?: string
  definition: ProjectDefinition
}

/** Identity, typed: what a project file default-exports. */
export function defineProject(definition: ProjectDefinition): ProjectDefinition {
  return definition
}
