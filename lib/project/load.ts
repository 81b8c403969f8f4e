// Loads the project file (project.config.ts at the root, a TypeScript module run by tsx) and checks its
// shape, so a mistake in it reads as one message naming the field, not as a crash deep in a start.
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { RotvError } from '../errors.ts'
import type { Project, ProjectDefinition } from './define.ts'

export const PROJECT_FILE = 'project.config.ts'

export class ProjectFileError extends RotvError {}

/** The root's project file; none at all is a database-only project. */
export async function loadProject(root: string, file = join(root, PROJECT_FILE)): Promise<Project> {
  if (!existsSync(file)) return { definition: { name: basename(root) } }
  let mod: { default?: ProjectDefinition }
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: ProjectDefinition }
  } catch (err) {
    throw new ProjectFileError(`cannot load the project file ${file}: ${(err as Error).message}`, { fix: `fix the error in ${file}` })
  }
  if (!mod.default || typeof mod.default !== 'object') {
    throw new ProjectFileError(`${file} has no default export`, { fix: 'end it with: export default defineProject({ ... })' })
  }
  checkDefinition(mod.default, file)
  return { file, definition: mod.default }
}

export function checkDefinition(d: ProjectDefinition, file: string): void {
  const bad = (field: string, why: string, fix: string): never => {
    throw new ProjectFileError(`${file}: ${field} ${why}`, { fix })
  }
  if (d.app) {
    if (typeof d.app.dir !== 'string' || d.app.dir === '') bad('app.dir', 'is missing', "name the app's folder, relative to the root: app: { dir: 'app', ... }")
    if (!d.app.start || typeof d.app.start.command !== 'string') bad('app.start', 'is missing', "say how the app starts: start: { command: 'node', args: ['server.js'] }")
    const r = d.app.readiness
    if (r && !('http' in r) && !('tcp' in r) && !('command' in r)) bad('app.readiness', 'is none of http, tcp, command', "use { http: '/health' }, { tcp: true } or { command: '...' }")
    if (r && 'http' in r && !r.http.startsWith('/')) bad('app.readiness.http', `(${r.http}) is not a path`, "write it as a path on the app's port: { http: '/health' }")
  }
  const m = d.migrations
  if (m !== undefined && m !== 'app' && !(typeof m === 'object' && ('sql' in m || 'command' in m))) {
    bad('migrations', 'is none of { sql }, { command, inputs }, "app"', "use { sql: 'migrations' }, { command: 'npx', args: ['knex', 'migrate:latest'], inputs: ['migrations'] } or 'app'")
  }
  if (m && typeof m === 'object' && 'command' in m && !Array.isArray(m.inputs)) {
    bad('migrations.inputs', 'is missing', 'list the files the migration command reads (they key the warm-cluster cache): inputs: [\'migrations\']')
  }
  const seen = new Set<string>()
  for (const v of d.variables ?? []) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(v.name ?? '')) bad('a variable name', `(${String(v.name)}) is not an environment variable name`, 'use upper case letters, digits and _')
    if (seen.has(v.name)) bad(`variable ${v.name}`, 'is declared twice', 'keep one declaration')
    seen.add(v.name)
  }
}
