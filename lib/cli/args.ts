// Reading the command line: global options anywhere, then one or more tasks, each followed by its own
// arguments and options. How many words a task takes comes from its declared arguments, so
// `stop start` is two tasks and `seed staging` is one task with an argument.
import { RotvError } from '../errors.ts'
import { UnknownTaskError, suggest, type TaskRegistry } from '../tasks/graph.ts'
import type { TaskDefinition, TaskInvocation } from '../tasks/types.ts'

export interface GlobalOptions {
  help: boolean
  version: boolean
  json: boolean
  verbose: boolean
  noColor: boolean
  envFile?: string
}

export interface ParsedCommandLine {
  globals: GlobalOptions
  invocations: TaskInvocation[]
  /** `<task> --help`: show that task's help instead of running. */
  helpFor?: string
}

export class UsageError extends RotvError {}

export const GLOBAL_OPTIONS: readonly { flag: string; description: string }[] = [
  { flag: '--help, -h', description: 'List the tasks; after a task name, show its arguments' },
  { flag: '--json', description: 'Print a JSON summary of tasks, durations and results on stdout (progress goes to stderr)' },
  { flag: '--verbose, -v', description: 'Plain line-by-line output, with the shell commands tasks run' },
  { flag: '--dotenv PATH', description: 'Read this file instead of .env (or backend/.env)' },
  { flag: '--no-color', description: 'No colors (also: NO_COLOR=1)' },
  { flag: '--version', description: 'Print the version' },
]

export function parseCommandLine(argv: readonly string[], registry: TaskRegistry): ParsedCommandLine {
  const globals: GlobalOptions = { help: false, version: false, json: false, verbose: false, noColor: false }
  const invocations: TaskInvocation[] = []
  let current: { def: TaskDefinition; inv: TaskInvocation; positional: string[] } | undefined
  let helpFor: string | undefined
  let onlyPositional = false

  const finish = () => {
    if (!current) return
    current.inv.args = bindArguments(current.def, current.positional)
    invocations.push(current.inv)
    current = undefined
  }

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (!onlyPositional && word === '--') {
      onlyPositional = true
      continue
    }
    if (!onlyPositional && word.startsWith('-') && word !== '-') {
      const [flag, inlineValue] = splitOption(word)
      const takeValue = (): string => {
        if (inlineValue !== undefined) return inlineValue
        const next = argv[i + 1]
        if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`, { fix: `write ${flag} VALUE` })
        i++
        return next
      }
      switch (flag) {
        case '--help':
        case '-h':
          if (current) helpFor = current.def.name
          else globals.help = true
          continue
        case '--version':
          globals.version = true
          continue
        case '--json':
          globals.json = true
          continue
        case '--verbose':
        case '-v':
          globals.verbose = true
          continue
        case '--no-color':
          globals.noColor = true
          continue
        case '--dotenv':
          globals.envFile = takeValue()
          continue
      }
      if (!current) throw new UsageError(`unknown option ${flag}`, { fix: 'run `npx tsx Taskfile.ts --help` for the options' })
      const name = flag.replace(/^--?/, '')
      const spec = current.def.options?.find((o) => o.name === name)
      if (!spec) {
        const known = (current.def.options ?? []).map((o) => o.name)
        const close = suggest(name, known)
        throw new UsageError(`task ${current.def.name} has no option ${flag}${close ? ` (did you mean --${close}?)` : ''}`, {
          fix: `run \`npx tsx Taskfile.ts ${current.def.name} --help\` for its options`,
        })
      }
      if (spec.type === 'flag') {
        if (inlineValue !== undefined) throw new UsageError(`--${name} takes no value`)
        current.inv.options[name] = true
      } else current.inv.options[name] = takeValue()
      continue
    }
    if (current && wantsMore(current.def, current.positional.length)) {
      current.positional.push(word)
      continue
    }
    finish()
    const def = registry.get(word)
    if (!def) throw new UnknownTaskError(word, suggest(word, [...registry.keys()]))
    current = { def, inv: { task: word, args: {}, options: {} }, positional: [] }
  }
  if (helpFor) return { globals, invocations: [], helpFor }
  finish()
  return { globals, invocations }
}

function splitOption(word: string): [string, string | undefined] {
  const eq = word.indexOf('=')
  return eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, undefined]
}

/** A task keeps taking words while it has declared arguments left, or a variadic one. */
function wantsMore(def: TaskDefinition, taken: number): boolean {
  const args = def.args ?? []
  if (args.at(-1)?.variadic) return true
  return taken < args.length
}

function bindArguments(def: TaskDefinition, words: string[]): TaskInvocation['args'] {
  const bound: TaskInvocation['args'] = {}
  const args = def.args ?? []
  args.forEach((arg, i) => {
    if (arg.variadic) bound[arg.name] = words.slice(i)
    else bound[arg.name] = words[i]
    const missing = arg.variadic ? words.length <= i : words[i] === undefined
    if (arg.required && missing) {
      throw new UsageError(`task ${def.name} needs the argument <${arg.name}>: ${arg.description}`, {
        fix: `run \`npx tsx Taskfile.ts ${def.name} --help\` for an example`,
      })
    }
  })
  return bound
}
