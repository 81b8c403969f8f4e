// Building the one typed configuration object: defaults < .env file < process environment.
// Parsing uses dotenv.parse on the file's text and never writes into process.env, so values with spaces,
// quotes, `#` or `=` arrive exactly as written (the old `export $(grep -v '^#' .env | xargs)` split them).
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import dotenv from 'dotenv'
import { RotvError } from '../errors.ts'
import { parseValue, type ParsedValue } from './parse.ts'
import type { ProjectDefinition } from '../project/define.ts'
import { SOURCE_KINDS, allVariables, variableSpec, type SourceKind, type VariableSpec } from './variables.ts'

export interface Config {
  root: string
  /** The .env file that was read, if any. */
  envFile?: string
  dataHome: string
  persistentData: boolean
  dataDir: string
  tmpfsSizeBytes: number
  appPort: number
  pgPort: number
  pgBinDir?: string
  pgRunAs?: string
  runtime: 'auto' | 'host' | 'container'
  dbName: string
  /** Snapshot `start` uses when none is named. */
  snapshot: string
  seed: {
    maxAgeDays: number
    /** The environment `seed` pulls from when none is named. */
    defaultSource: string
    sources: Record<string, SourceConfig>
  }
  /** How to reach a snapshot registry (push, pull, the registry source). */
  registry: { authFile?: string; tlsVerify: boolean; caFile?: string }
  container: { image: string; baseImage?: string; name: string; engine?: 'podman' | 'docker'; publishAddress: string }
  /** The project file's declarations (the app, its migrations, names). */
  project: ProjectDefinition
  /** The set values of the variables the project declares: the app gets them in its environment. */
  appVariables: Record<string, string>
}

export interface SourceConfig {
  /** Environment name (production, staging, ...) or `demo`; also the default snapshot name. */
  name: string
  kind: SourceKind
  /** The variable prefix this environment is read from (PRODUCTION_, STAGING_). */
  prefix?: string
  host?: string
  /** Unset: ssh decides (the ~/.ssh/config entry, else its own defaults). */
  port?: number
  user?: string
  container: string
  engine: 'podman' | 'docker'
  database: string
  dbUser: string
  url?: string
  file?: string
  /** registry source: the OCI reference of the team's snapshot. */
  registry?: string
}

export type Origin = 'default' | 'file' | 'environment'

export interface ConfigProblem {
  variable: string
  kind: 'missing' | 'placeholder' | 'malformed' | 'too-short'
  message: string
  fix: string
}

export interface LoadedConfig {
  config: Config
  /** Every value that was set, as a string, and where it came from. */
  values: ReadonlyMap<string, { value: string; origin: Origin }>
  /** Set values that are wrong whatever the run: malformed, too short, still a placeholder. */
  problems: ConfigProblem[]
  /** Variable -> placeholder value documented in .env.example. */
  placeholders: ReadonlyMap<string, string>
  /** The engine's variables and the project's, as validate-env and .env.example take them. */
  variables: readonly VariableSpec[]
}

export interface LoadOptions {
  root: string
  /** The process environment (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Read this file instead of looking up .env, then backend/.env. */
  envFile?: string
  /** The project file's declarations (loadProject); none: a database-only project with the engine's variables. */
  project?: ProjectDefinition
}

export class EnvFileError extends RotvError {}

export function loadConfig(options: LoadOptions): LoadedConfig {
  const root = resolve(options.root)
  const env = options.env ?? process.env
  const envFile = options.envFile ? resolve(options.envFile) : findEnvFile(root)
  if (options.envFile && lstatSync(envFile!, { throwIfNoEntry: false }) === undefined) {
    throw new EnvFileError(`env file not found: ${options.envFile}`, { fix: 'pass an existing file to --dotenv, or leave it out to use .env' })
  }
  const fileValues = envFile ? readEnvFile(envFile) : {}
  const project = options.project ?? {}
  const specs = withProjectNames(allVariables(project), project)
  const placeholders = readPlaceholders(root, specs)

  const values = new Map<string, { value: string; origin: Origin }>()
  for (const spec of specs) if (spec.default !== undefined) values.set(spec.name, { value: spec.default, origin: 'default' })
  for (const [name, value] of Object.entries(fileValues)) values.set(name, { value, origin: 'file' })
  for (const name of knownNames(specs, fileValues, env, placeholders)) {
    const value = env[name]
    if (value !== undefined) values.set(name, { value, origin: 'environment' })
  }
  // An empty value means "unset" (KEY= in .env is how people blank a variable out).
  for (const [name, v] of values) if (v.value.trim() === '') values.delete(name)

  const problems: ConfigProblem[] = []
  const parsed = new Map<string, ParsedValue>()
  for (const [name, { value }] of values) {
    const spec = variableSpec(name, specs)
    if (!spec) continue
    const placeholder = placeholders.get(name) ?? spec.placeholder
    if (placeholder !== undefined && value === placeholder) {
      problems.push(placeholderProblem(spec))
      continue
    }
    const result = parseValue(spec, value)
    if (result.ok) parsed.set(name, result.value)
    else problems.push({ variable: name, kind: result.kind, message: `${name} ${result.message}`, fix: result.fix })
  }

  const config = buildConfig(root, envFile, parsed, values, specs, project)
  return { config, values, problems, placeholders, variables: specs }
}

/** The project's names are the defaults of DB_NAME, ROTV_HOME, ROTV_CONTAINER_NAME and ROTV_IMAGE. */
function withProjectNames(specs: readonly VariableSpec[], project: ProjectDefinition): VariableSpec[] {
  const names: Record<string, string | undefined> = {
    DB_NAME: project.names?.database,
    ROTV_HOME: project.names?.dataHome,
    ROTV_CONTAINER_NAME: project.names?.container,
    ROTV_IMAGE: project.names?.image,
  }
  return specs.map((s) => (names[s.name] !== undefined ? { ...s, default: names[s.name] } : s))
}

/** `.env` at the project root, else `backend/.env` (the original setup's lookup). */
export function findEnvFile(root: string): string | undefined {
  // lstat, not exists: a dangling or looping link is a .env the user meant to have, not "no .env".
  return [join(root, '.env'), join(root, 'backend', '.env')].find((p) => lstatSync(p, { throwIfNoEntry: false }) !== undefined)
}

export function expandHome(path: string, base: string): string {
  const expanded = path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path
  return isAbsolute(expanded) ? expanded : resolve(base, expanded)
}

/** Above this an env file is not one (a log, a dump): refused rather than read into memory. */
const ENV_FILE_MAX_BYTES = 1024 * 1024

function readEnvFile(path: string): Record<string, string> {
  assertPlainFile(path)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new EnvFileError(`cannot read ${path}: ${(err as Error).message}`, { fix: 'check the file\'s permissions' })
  }
  // dotenv skips lines it cannot parse; report them instead, so a typo is not silently a missing value.
  const bad = unparsableLines(text)
  if (bad.length > 0) {
    throw new EnvFileError(`${path}: cannot parse line ${bad.join(', ')} (expected NAME=value)`, {
      fix: 'write each variable as NAME=value; quote values with spaces or #: NAME="a b # c"',
    })
  }
  return dotenv.parse(text)
}

/** A FIFO or a device would block or never end; a directory or a broken link is a mistake to name. */
function assertPlainFile(path: string): void {
  let st
  try {
    st = statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const link = lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkOr(path) : undefined
    if (code === 'ELOOP') throw new EnvFileError(`${path} is a symbolic link that loops (${link})`, { fix: `point ${path} at your real env file, or remove the link` })
    if (code === 'ENOENT' && link !== undefined) throw new EnvFileError(`${path} is a symbolic link to ${link}, which does not exist`, { fix: `create ${link}, point the link at your real env file, or remove the link` })
    if (code === 'EACCES') throw new EnvFileError(`cannot read ${path}: permission denied`, { fix: `check the permissions of ${path} and its folders (it should be readable by you: chmod 600 ${path})` })
    throw new EnvFileError(`cannot read ${path}: ${(err as Error).message}`, { fix: 'check the file' })
  }
  if (st.isDirectory()) throw new EnvFileError(`${path} is a directory, not an env file`, { fix: `remove or rename the directory and create ${path} as a file (cp .env.example .env), or pass a file with --dotenv` })
  if (!st.isFile()) throw new EnvFileError(`${path} is not a regular file (a pipe, socket or device), so it cannot be read as an env file`, { fix: `make ${path} a plain file (cp .env.example .env), or pass one with --dotenv` })
  if (st.size > ENV_FILE_MAX_BYTES) throw new EnvFileError(`${path} is ${Math.round(st.size / 1024)} KB: too large for an env file (the limit is 1 MB)`, { fix: `check that ${path} is the env file you meant (NAME=value lines)` })
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path)
  } catch {
    return '?'
  }
}

/** Line numbers that are neither blank, a comment, NAME=value, nor inside a multi-line quoted value. */
function unparsableLines(text: string): number[] {
  const bad: number[] = []
  let openQuote: string | undefined
  text.split(/\r?\n/).forEach((line, i) => {
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = undefined
      return
    }
    const t = line.trim()
    if (t === '' || t.startsWith('#')) return
    const m = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*(.*)$/.exec(t)
    if (!m) {
      bad.push(i + 1)
      return
    }
    const value = m[1]!
    const q = value[0]
    if ((q === '"' || q === "'" || q === '`') && !value.slice(1).includes(q)) openQuote = q
  })
  return bad
}

function readPlaceholders(root: string, specs: readonly VariableSpec[]): Map<string, string> {
  const path = join(root, '.env.example')
  const result = new Map<string, string>()
  if (!existsSync(path)) return result
  for (const [name, value] of Object.entries(dotenv.parse(readFileSync(path, 'utf8')))) {
    const spec = variableSpec(name, specs)
    // Only uncommented values that are not defaults count as placeholders.
    if (value !== '' && spec?.default !== value) result.set(name, value)
  }
  return result
}

function knownNames(specs: readonly VariableSpec[], fileValues: Record<string, string>, env: NodeJS.ProcessEnv, placeholders: Map<string, string>): Set<string> {
  const names = new Set<string>([...specs.map((v) => v.name), ...Object.keys(fileValues), ...placeholders.keys()])
  const environments = (env.SEED_ENVIRONMENTS ?? fileValues.SEED_ENVIRONMENTS ?? 'production').split(',')
  for (const e of environments) {
    const prefix = envPrefix(e)
    if (!prefix) continue
    for (const name of Object.keys(env)) if (name.startsWith(prefix)) names.add(name)
  }
  return names
}

function placeholderProblem(spec: VariableSpec): ConfigProblem {
  return {
    variable: spec.name,
    kind: 'placeholder',
    message: `${spec.name} is still the .env.example placeholder`,
    fix: `set ${spec.name} to a real value (${spec.description.split(/[.;(]/)[0]!.trim().toLowerCase()}) or remove the line`,
  }
}

function envPrefix(name: string): string | undefined {
  const clean = name.trim()
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(clean)) return undefined
  return `${clean.toUpperCase().replace(/-/g, '_')}_`
}

function buildConfig(
  root: string,
  envFile: string | undefined,
  parsed: Map<string, ParsedValue>,
  values: Map<string, { value: string; origin: Origin }>,
  specs: readonly VariableSpec[],
  project: ProjectDefinition,
): Config {
  const str = (name: string): string | undefined => {
    const v = parsed.get(name)
    return typeof v === 'string' ? v : undefined
  }
  const num = (name: string): number => {
    // A malformed value is reported by validate-env; until then the default stands in.
    const v = parsed.get(name)
    if (typeof v === 'number') return v
    const spec = variableSpec(name, specs)!
    const fallback = parseValue(spec, spec.default!)
    return fallback.ok ? (fallback.value as number) : NaN
  }
  const dataHome = expandHome(str('ROTV_HOME') ?? project.names?.dataHome ?? '~/.rotv', root)
  const dataDirSet = values.get('DATA_DIR')?.origin !== 'default' ? str('DATA_DIR') : undefined
  const sources: Record<string, SourceConfig> = {}
  const environments = (str('SEED_ENVIRONMENTS') ?? 'production').split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of environments) {
    const prefix = envPrefix(name)
    if (!prefix) continue
    const source = buildSource(name.toLowerCase(), prefix, parsed, root)
    if (source) sources[source.name] = source
  }
  const defaultSource = environments[0]?.toLowerCase() && sources[environments[0].toLowerCase()] ? environments[0].toLowerCase() : 'demo'
  sources.demo = { ...baseSource('demo'), kind: 'demo' }
  const appVariables: Record<string, string> = {}
  for (const v of project.variables ?? []) {
    const value = parsed.get(v.name)
    if (value !== undefined) appVariables[v.name] = values.get(v.name)!.value
  }
  return {
    root,
    envFile,
    dataHome,
    persistentData: (parsed.get('PERSISTENT_DATA') as boolean | undefined) ?? false,
    dataDir: dataDirSet ? expandHome(dataDirSet, root) : join(dataHome, 'pgdata'),
    tmpfsSizeBytes: num('TMPFS_SIZE'),
    appPort: num('APP_PORT'),
    pgPort: num('PG_PORT'),
    pgBinDir: str('PG_BIN_DIR') ? expandHome(str('PG_BIN_DIR')!, root) : undefined,
    pgRunAs: str('PG_RUN_AS'),
    runtime: (str('RUNTIME') as Config['runtime'] | undefined) ?? 'auto',
    dbName: str('DB_NAME') ?? project.names?.database ?? 'rotv',
    snapshot: str('SNAPSHOT') ?? defaultSource,
    seed: { maxAgeDays: num('SEED_MAX_AGE_DAYS'), defaultSource, sources },
    registry: {
      authFile: str('REGISTRY_AUTH_FILE') ? expandHome(str('REGISTRY_AUTH_FILE')!, root) : undefined,
      tlsVerify: (parsed.get('REGISTRY_TLS_VERIFY') as boolean | undefined) ?? true,
      caFile: str('REGISTRY_CA_FILE') ? expandHome(str('REGISTRY_CA_FILE')!, root) : undefined,
    },
    container: {
      image: str('ROTV_IMAGE') ?? project.names?.image ?? 'localhost/rotv:latest',
      baseImage: str('ROTV_BASE_IMAGE'),
      name: str('ROTV_CONTAINER_NAME') ?? project.names?.container ?? 'rotv',
      engine: str('ROTV_CONTAINER_ENGINE') as Config['container']['engine'],
      publishAddress: str('ROTV_PUBLISH_ADDRESS') ?? '127.0.0.1',
    },
    project,
    appVariables,
  }

  function buildSource(name: string, prefix: string, p: Map<string, ParsedValue>, base: string): SourceConfig | undefined {
    const get = (suffix: string) => {
      const v = p.get(`${prefix}${suffix}`)
      return typeof v === 'string' ? v : undefined
    }
    const explicitKind = (get('SOURCE') ?? (prefix === 'PRODUCTION_' ? str('SEED_SOURCE') : undefined)) as SourceKind | undefined
    const host = get('HOST')
    const url = get('DATABASE_URL')
    const file = prefix === 'PRODUCTION_' ? str('SEED_FILE') : get('FILE')
    const registry = get('REGISTRY')
    const kind: SourceKind | undefined = explicitKind ?? (host ? 'ssh+podman' : url ? 'url' : file ? 'file' : registry ? 'registry' : undefined)
    if (!kind || kind === 'demo') return undefined
    return {
      ...baseSource(name),
      kind,
      prefix,
      host,
      port: p.get(`${prefix}PORT`) as number | undefined,
      user: get('USER'),
      container: get('CONTAINER') ?? 'rotv',
      engine: (get('ENGINE') as 'podman' | 'docker' | undefined) ?? 'podman',
      database: get('DB_NAME') ?? 'rotv',
      dbUser: get('DB_USER') ?? 'rotv',
      url,
      file: file ? expandHome(file, base) : undefined,
      registry,
    }
  }
}

function baseSource(name: string): SourceConfig {
  return { name, kind: 'demo', container: 'rotv', engine: 'podman', database: 'rotv', dbUser: 'rotv' }
}

export { SOURCE_KINDS }
