// The app as the in-container supervisor runs it: the project file's declarations with the paths of the
// image (app.containerDir). The runner passes it as ROTV_APP (JSON, no secrets); an image run by hand
// gets it from its Containerfile's ENV ROTV_APP.
import { posix } from 'node:path'
import { RotvError } from '../errors.ts'
import type { ProjectDefinition, Readiness } from '../project/define.ts'
import { extraDatabases } from '../project/launch.ts'

export interface ContainerApp {
  command: string
  args: string[]
  cwd: string
  readiness: Readiness
  migrations?: { sql: string } | { command: string; args: string[]; cwd: string }
  extraDatabases: string[]
}

export class ContainerAppError extends RotvError {}

export const DEFAULT_CONTAINER_DIR = '/opt/app'

export function containerApp(project: ProjectDefinition, dbName: string): ContainerApp | undefined {
  const app = project.app
  if (!app) return undefined
  const dir = app.containerDir ?? DEFAULT_CONTAINER_DIR
  // paths in the project file are relative to the root; in the image the app's folder is `dir`
  const inImage = (fromRoot: string) => posix.join(dir, posix.relative(app.dir, fromRoot))
  const m = project.migrations
  return {
    command: app.start.command,
    args: [...(app.start.args ?? [])],
    cwd: app.start.cwd ? posix.join(dir, app.start.cwd) : dir,
    readiness: app.readiness ?? { http: '/', status: 200 },
    migrations: !m || m === 'app' ? undefined : 'sql' in m ? { sql: inImage(m.sql) } : { command: m.command, args: [...(m.args ?? [])], cwd: m.cwd ? inImage(m.cwd) : dir },
    extraDatabases: extraDatabases(project, dbName),
  }
}

export function parseContainerApp(json: string | undefined): ContainerApp {
  if (!json) {
    throw new ContainerAppError('ROTV_APP is not set, so the supervisor does not know how to start the app', {
      fix: "start the container with `npx tsx Taskfile.ts start` (it passes the project file's app), or set ENV ROTV_APP in the Containerfile",
    })
  }
  try {
    const app = JSON.parse(json) as ContainerApp
    if (typeof app.command !== 'string' || !Array.isArray(app.args) || typeof app.cwd !== 'string' || !app.readiness) throw new Error('command, args, cwd and readiness are required')
    return { ...app, extraDatabases: app.extraDatabases ?? [] }
  } catch (err) {
    throw new ContainerAppError(`ROTV_APP is not a valid app description: ${(err as Error).message}`, { fix: 'check ENV ROTV_APP in the Containerfile (JSON: command, args, cwd, readiness)' })
  }
}
