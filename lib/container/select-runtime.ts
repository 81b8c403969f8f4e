// RUNTIME=auto: which runtime a task talks to. An environment that is already running decides
// (its state file says where it runs); otherwise `start` picks the container when an engine works and
// the image exists, and the host runtime when not.
import { existsSync } from 'node:fs'
import type { Config } from '../config/load.ts'
import { statePath } from '../runtime/state.ts'
import { containerAvailable } from '../runtime/container.ts'
import { containerSettings } from './settings.ts'
import { hasContainerState } from './state.ts'

export type RuntimeKind = 'host' | 'container'

/** For stop/status/reset/logs: where the current environment runs. */
export function runtimeOfRunning(config: Config): RuntimeKind {
  if (config.runtime !== 'auto') return config.runtime
  if (hasContainerState(config.dataHome)) return 'container'
  return 'host'
}

/** For start. */
export async function runtimeForStart(config: Config): Promise<RuntimeKind> {
  if (config.runtime !== 'auto') return config.runtime
  if (hasContainerState(config.dataHome)) return 'container'
  if (existsSync(statePath(config.dataHome))) return 'host'
  return (await containerAvailable(containerSettings(config).image)) ? 'container' : 'host'
}
