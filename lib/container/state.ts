// What `start` left running in a container, so `stop`, `status`, `reset` and `logs` (later processes)
// find it: <home>/run/container.json, written atomically. The host runtime keeps run/host.json.
import type { Readiness } from '../project/define.ts'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readRunFile, writeRunFile } from '../runtime/state.ts'

export interface ContainerState {
  runtime: 'container'
  engine: 'podman' | 'docker'
  name: string
  image: string
  startedAt: string
  mode: 'dev' | 'persistent'
  appPort: number
  /** Published on 127.0.0.1 (absent in the state of a container started before it was). */
  pgPort?: number
  dbName?: string
  publishAddress: string
  dataDir?: string
  snapshot?: { name: string; sha256: string }
  prepared?: 'imported' | 'warm' | 'kept'
  /** The container's /var/log/rotv, bind-mounted from the data home: PostgreSQL's and the spare copy's
   * logs outlive the container (absent in the state of a container started before they did). */
  logs?: { dir: string; postgres: string; spare: string }
  /** The project's readiness check, for `status` (absent: a container started before it was recorded). */
  readiness?: Readiness
}

export function containerStatePath(home: string): string {
  return join(home, 'run', 'container.json')
}

export function hasContainerState(home: string): boolean {
  return existsSync(containerStatePath(home))
}

export async function readContainerState(home: string): Promise<ContainerState | undefined> {
  return readRunFile<ContainerState>(containerStatePath(home))
}

export async function writeContainerState(home: string, state: ContainerState): Promise<void> {
  await writeRunFile(containerStatePath(home), state)
}

export async function clearContainerState(home: string): Promise<void> {
  await rm(containerStatePath(home), { force: true })
}
