// The text of --help and <task> --help.
import type { TaskRegistry } from '../tasks/graph.ts'
import type { TaskDefinition } from '../tasks/types.ts'
import { GLOBAL_OPTIONS } from './args.ts'

const USAGE = 'npx tsx Taskfile.ts'

export function renderHelp(registry: TaskRegistry, about: string): string {
  const tasks = [...registry.values()]
  const width = Math.max(...tasks.map((t) => t.name.length), 8) + 2
  const lines = [
    about,
    '',
    `Usage: ${USAGE} <task> [arguments] [options]   (several tasks: ${USAGE} stop start)`,
    '',
    'Tasks:',
    ...tasks.map((t) => {
      const deps = t.dependsOn?.length ? `  [runs first: ${t.dependsOn.join(', ')}]` : ''
      return `  ${t.name.padEnd(width)}${t.description}${deps}`
    }),
    '',
    'Options:',
    ...GLOBAL_OPTIONS.map((o) => `  ${o.flag.padEnd(18)}${o.description}`),
    '',
    `Run \`${USAGE} <task> --help\` for a task's arguments and examples.`,
  ]
  return lines.join('\n')
}

export function renderTaskHelp(task: TaskDefinition): string {
  const args = task.args ?? []
  const synopsis = [
    USAGE,
    task.name,
    ...args.map((a) => (a.required ? `<${a.name}${a.variadic ? '...' : ''}>` : `[${a.name}${a.variadic ? '...' : ''}]`)),
    ...(task.options?.length ? ['[options]'] : []),
  ].join(' ')
  const lines = [`${task.name}: ${task.description}`, '', `Usage: ${synopsis}`]
  if (task.dependsOn?.length) lines.push('', `Runs first: ${task.dependsOn.join(', ')}`)
  if (args.length) {
    const w = Math.max(...args.map((a) => a.name.length)) + 4
    lines.push('', 'Arguments:', ...args.map((a) => `  ${a.name.padEnd(w)}${a.description}${a.required ? '' : ' (optional)'}`))
  }
  if (task.options?.length) {
    const w = Math.max(...task.options.map((o) => o.name.length + (o.type === 'string' ? 6 : 0))) + 6
    lines.push('', 'Options:', ...task.options.map((o) => `  ${`--${o.name}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(w)}${o.description}`))
  }
  if (task.examples?.length) lines.push('', 'Examples:', ...task.examples.map((e) => `  ${e}`))
  return lines.join('\n')
}
