// Resolving what runs, in which order. The whole registry is checked up front so that a broken
// dependency declaration fails at start-up, before any task has touched anything.
import { RotvError } from '../errors.ts'
import type { TaskDefinition } from './types.ts'

export class TaskGraphError extends RotvError {}

export class UnknownTaskError extends RotvError {
  constructor(
    readonly taskName: string,
    readonly suggestion?: string,
  ) {
    super(`unknown task "${taskName}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`, {
      fix: 'run `npx tsx Taskfile.ts --help` to list the tasks',
    })
  }
}

export type TaskRegistry = ReadonlyMap<string, TaskDefinition>

/** Builds the registry, rejecting duplicate names, unknown dependencies and cycles. */
export function createRegistry(tasks: readonly TaskDefinition[]): TaskRegistry {
  const registry = new Map<string, TaskDefinition>()
  for (const task of tasks) {
    if (registry.has(task.name)) throw new TaskGraphError(`two tasks are named "${task.name}"`)
    registry.set(task.name, task)
  }
  for (const task of tasks) {
    for (const dep of task.dependsOn ?? []) {
      if (!registry.has(dep)) {
        throw new TaskGraphError(`task "${task.name}" depends on unknown task "${dep}"`, {
          fix: `fix the dependsOn list of "${task.name}"${suggest(dep, [...registry.keys()]) ? ` (did you mean "${suggest(dep, [...registry.keys()])}"?)` : ''}`,
        })
      }
    }
  }
  const cycle = findCycle(registry)
  if (cycle) {
    throw new TaskGraphError(`task dependency cycle: ${cycle.join(' -> ')}`, {
      fix: 'remove one of these dependsOn entries',
    })
  }
  return registry
}

/**
 * The tasks to run for the requested ones: their transitive dependencies first, each task once,
 * requested tasks in the order given where dependencies allow.
 */
export function planRun(registry: TaskRegistry, requested: readonly string[]): string[] {
  const order: string[] = []
  const seen = new Set<string>()
  const visit = (name: string): void => {
    if (seen.has(name)) return
    seen.add(name)
    const task = registry.get(name)
    if (!task) throw new UnknownTaskError(name, suggest(name, [...registry.keys()]))
    for (const dep of task.dependsOn ?? []) visit(dep)
    order.push(name)
  }
  for (const name of requested) {
    if (!registry.has(name)) throw new UnknownTaskError(name, suggest(name, [...registry.keys()]))
  }
  for (const name of requested) visit(name)
  return order
}

/** The closest known name, when it is close enough to be a plausible typo. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const d = candidate.startsWith(name) && name.length >= 3 ? 1 : editDistance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

function findCycle(registry: TaskRegistry): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, 'visiting')
    stack.push(name)
    for (const dep of registry.get(name)?.dependsOn ?? []) {
      const cycle = visit(dep)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(name, 'done')
    return undefined
  }
  for (const name of registry.keys()) {
    const cycle = visit(name)
    if (cycle) return cycle
  }
  return undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}
