// Command-line options of `npm run bench`. Parsed by hand (a dozen lines) so the benchmark adds no
// dependency; every option has a default that reproduces the README's table.
import { parseSize } from '../lib/demo/generate.ts'

export const CASE_IDS = ['baseline', 'cold', 'warm', 'reset', 'seed', 'anonymize', 'loader', 'registry', 'container'] as const
export type CaseId = (typeof CASE_IDS)[number]
/** The default: every case but the container one, whose first image build alone takes minutes and
 * does not depend on the dump size. `--cases all` (or naming it) adds it. */
export const DEFAULT_CASES: readonly CaseId[] = ['baseline', 'cold', 'warm', 'reset', 'seed', 'anonymize', 'loader', 'registry']

export interface BenchOptions {
  /** Plain-dump size in bytes (demo generator target). */
  sizeBytes: number
  /** As written on the command line, for the report ("384MB"). */
  sizeText: string
  cases: CaseId[]
  repeat: number
  /** Where results are written (timestamped JSON/Markdown + latest.*). */
  outDir: string
  /** Demo generator seed: the same seed and size give the same dump bytes. */
  seed: number
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [--size 384MB] [--cases ${DEFAULT_CASES.join(',')}|all] [--repeat 3] [--out bench/results] [--seed 1]
  cases: ${CASE_IDS.join(', ')} (default: all but container; \`all\` includes the container image build and start)
  quick mode: npm run bench -- --size 32MB --repeat 1`

export function parseArgs(argv: string[], defaults: { outDir: string }): BenchOptions {
  const opts: BenchOptions = { sizeBytes: parseSize('384MB'), sizeText: '384MB', cases: [...DEFAULT_CASES], repeat: 3, outDir: defaults.outDir, seed: 1 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value\n${USAGE}`)
      return v
    }
    switch (flag) {
      case '--size': {
        const text = value()
        opts.sizeText = text
        opts.sizeBytes = parseSize(text)
        break
      }
      case '--cases': {
        const text = value()
        const wanted = text === 'all' ? [...CASE_IDS] : text.split(',').map((s) => s.trim()).filter(Boolean)
        const unknown = wanted.filter((c) => !(CASE_IDS as readonly string[]).includes(c))
        if (unknown.length || wanted.length === 0) throw new UsageError(`unknown case(s): ${unknown.join(', ') || '(none given)'}; known: ${CASE_IDS.join(', ')}`)
        // Run in the canonical order whatever order they were named in: warm and reset need cold first.
        opts.cases = CASE_IDS.filter((c) => wanted.includes(c))
        break
      }
      case '--repeat': {
        const n = Number(value())
        if (!Number.isInteger(n) || n < 1 || n > 50) throw new UsageError('--repeat takes a whole number from 1 to 50')
        opts.repeat = n
        break
      }
      case '--out':
        opts.outDir = value()
        break
      case '--seed':
        opts.seed = Number(value())
        if (!Number.isInteger(opts.seed)) throw new UsageError('--seed takes a whole number')
        break
      case '--help':
      case '-h':
        throw new UsageError(USAGE)
      default:
        throw new UsageError(`unknown option ${arg}\n${USAGE}`)
    }
  }
  return opts
}
