// What `start` left running in a container, so `stop`, `status`, `reset` and `logs` (later processes)
// find it: <home>/run/container.json, written atomically. The host runtime keeps run/host.json.
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface ContainerState {
  runtime: 'container'
  engine: 'podman' | 'docker'
  name: string
  image: string
  startedAt: string
  mode: 'dev' | 'persistent'
  appPort: number
  publishAddress: string
  dataDir?: string
  snapshot?: { name: string; sha256: string }
  prepared?: 'imported' | 'warm' | 'kept'
}

export function containerStatePath(home: string): string {
  return join(home, 'run', 'container.json')
}

export function hasContainerState(home: string): boolean {
  return existsSync(containerStatePath(home))
}

export async function readContainerState(home: string): Promise<ContainerState | undefined> {
  try {
    return JSON.parse(await readFile(containerStatePath(home), 'utf8')) as ContainerState
  } catch {
    return undefined
  }
}

export async function writeContainerState(home: string, state: ContainerState): Promise<void> {
  const path = containerStatePath(home)
  await mkdir(join(home, 'run'), { recursive: true, mode: 0o700 })
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}

export async function clearContainerState(home: string): Promise<void> {
  await rm(containerStatePath(home), { force: true })
}
