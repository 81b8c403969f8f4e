// The project file's declarations as the runtimes take them: absolute paths, resolved commands, and the
// defaults filled in. The runtimes never read the project file themselves.
import { isAbsolute, join, resolve } from 'node:path'
import type { MigrationStep } from '../runtime/database.ts'
import type { BuildStep, ProjectDefinition, Readiness, ReadyLine } from './define.ts'

export interface AppLaunch {
  /** The app's folder (absolute). */
  dir: string
  command: string
  args: string[]
  cwd: string
  readiness: Readiness
  readyLine?: ReadyLine
  build?: BuildLaunch
}

export interface BuildLaunch {
  command: string
  args: string[]
  cwd: string
  inputs: string[]
  output: string
}

/** How the app starts on this machine; undefined for a database-only project. */
export function appLaunch(root: string, project: ProjectDefinition): AppLaunch | undefined {
  const app = project.app
  if (!app) return undefined
  const dir = resolve(root, app.dir)
  const cwd = app.start.cwd ? resolve(dir, app.start.cwd) : dir
  return {
    dir,
    command: resolveCommand(app.start.command),
    args: [...(app.start.args ?? [])],
    cwd,
    readiness: app.readiness ?? { http: '/', status: 200 },
    readyLine: app.readyLine,
    build: app.build ? buildLaunch(dir, app.build) : undefined,
  }
}

/** The migration step after the snapshot is loaded; undefined when there is none (or the app migrates itself). */
export function migrationStep(root: string, project: ProjectDefinition, env: Record<string, string>): MigrationStep | undefined {
  const m = project.migrations
  if (!m || m === 'app') return undefined
  if ('sql' in m) return { kind: 'sql', dir: resolve(root, m.sql) }
  const cwd = m.cwd ? resolve(root, m.cwd) : project.app ? resolve(root, project.app.dir) : root
  return { kind: 'command', command: resolveCommand(m.command), args: [...(m.args ?? [])], cwd, env, inputs: m.inputs.map((i) => resolve(cwd, i)) }
}

/** Whether the app makes its own schema at start-up (then nothing is migrated before it starts). */
export function appMigratesItself(project: ProjectDefinition): boolean {
  return project.migrations === 'app'
}

/** The extra empty databases next to `dbName`. */
export function extraDatabases(project: ProjectDefinition, dbName: string): string[] {
  const extra = project.extraDatabases
  return [...(typeof extra === 'function' ? extra(dbName) : (extra ?? []))]
}

function buildLaunch(dir: string, build: BuildStep): BuildLaunch {
  return {
    command: resolveCommand(build.command),
    args: [...(build.args ?? [])],
    cwd: dir,
    inputs: build.inputs.map((i) => (isAbsolute(i) ? i : join(dir, i))),
    output: isAbsolute(build.output) ? build.output : join(dir, build.output),
  }
}

/** `node` is the runner's own Node.js: the app runs on the version the runner was started with. */
function resolveCommand(command: string): string {
  return command === 'node' ? process.execPath : command
}
