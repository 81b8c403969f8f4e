// npx tsx lib/demo/cli.ts [--seed N] [--size 384MB] [--omit-newest-migrations N] [--load-into 15] [-o FILE]
// Writes the demo dump to FILE, or to stdout.
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { describeError } from '../errors.ts'
import { DEFAULT_SEED, generateDemoDump, parseSize } from './generate.ts'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      size: { type: 'string' },
      'omit-newest-migrations': { type: 'string' },
      'load-into': { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write('usage: npx tsx lib/demo/cli.ts [--seed N] [--size 384MB] [--omit-newest-migrations N] [--load-into MAJOR] [-o FILE]\n')
    return
  }
  const dump = generateDemoDump({
    seed: values.seed === undefined ? DEFAULT_SEED : Number(values.seed),
    size: values.size === undefined ? undefined : parseSize(values.size),
    omitNewestMigrations: values['omit-newest-migrations'] === undefined ? undefined : Number(values['omit-newest-migrations']),
    loadInto: values['load-into'] === undefined ? undefined : Number(values['load-into']),
  })
  await pipeline(dump, values.output ? createWriteStream(values.output) : process.stdout)
}

main().catch((err) => {
  // A reader that stops early (`| head`) is not an error.
  if ((err as NodeJS.ErrnoException).code === 'EPIPE') return
  const { message, fix } = describeError(err)
  process.stderr.write(`demo dump: ${message}\n${fix ? `fix: ${fix}\n` : ''}`)
  process.exitCode = 1
})
