// RUNTIME=auto: which runtime a task talks to. An environment that is already running decides
// (its state file says where it runs); otherwise `start` picks the container when an engine works and
// the image exists and a container can actually run (lib/container/probe.ts), and the host runtime
// when not, saying why in one line.
import { existsSync } from 'node:fs'
import { RotvError } from '../errors.ts'
import type { Config } from '../config/load.ts'
import { statePath } from '../runtime/state.ts'
import { detectEngine, imageExists } from './engine.ts'
import { probeContainerRun } from './probe.ts'
import { containerSettings } from './settings.ts'
import { hasContainerState } from './state.ts'

export type RuntimeKind = 'host' | 'container'

export class RunningElsewhereError extends RotvError {}

/** For stop/status/reset/logs: where the current environment runs. */
export function runtimeOfRunning(config: Config): RuntimeKind {
  if (config.runtime !== 'auto') return config.runtime
  if (hasContainerState(config.dataHome)) return 'container'
  return 'host'
}

/**
 * For start. `note` gets the one line that says why RUNTIME=auto chose the host although the image
 * exists (a container cannot run here), with the fix.
 */
export async function runtimeForStart(config: Config, note: (line: string) => void = () => {}): Promise<RuntimeKind> {
  if (config.runtime !== 'auto') return config.runtime
  if (hasContainerState(config.dataHome)) return 'container'
  if (existsSync(statePath(config.dataHome))) return 'host'
  const engine = await detectEngine(config.container.engine)
  const image = containerSettings(config).image
  if (!engine || !(await imageExists(engine, image))) return 'host'
  const probe = await probeContainerRun(engine, image, config.dataHome)
  if (probe.ok) return 'container'
  note(`RUNTIME=auto: using the host runtime, because the image ${image} exists but a container cannot run here (${probe.reason}); to use the container: ${probe.fix}`)
  return 'host'
}

/**
 * A start on one runtime while the other one's environment runs would only meet a port clash (APP_PORT
 * is taken): say where it runs and how to stop it instead.
 */
export function assertNotRunningElsewhere(config: Config, kind: RuntimeKind): void {
  if (kind === 'host' && hasContainerState(config.dataHome)) {
    throw new RunningElsewhereError('the environment is already running in the container (started by an earlier `start`)', {
      fix: 'use it, or stop it first: RUNTIME=container npx tsx Taskfile.ts stop',
    })
  }
  if (kind === 'container' && existsSync(statePath(config.dataHome))) {
    throw new RunningElsewhereError('the environment is already running on the host (started by an earlier `start`)', {
      fix: 'use it, or stop it first: RUNTIME=host npx tsx Taskfile.ts stop',
    })
  }
}
