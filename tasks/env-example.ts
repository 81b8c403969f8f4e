import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderEnvExample } from '../lib/config/env-example.ts'
import { RotvError } from '../lib/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'env-example',
  description: 'Regenerate .env.example from the variable table: the engine\'s and the project file\'s (--check: fail if it is out of date)',
  options: [{ name: 'check', type: 'flag', description: 'Only check that .env.example is up to date' }],
  examples: ['npx tsx Taskfile.ts env-example', 'npx tsx Taskfile.ts env-example --check'],
  async run(ctx) {
    const path = join(ctx.root, '.env.example')
    const wanted = renderEnvExample(ctx.loaded.variables)
    const current = await readFile(path, 'utf8').catch(() => '')
    if (current === wanted) return { summary: '.env.example is up to date' }
    if (ctx.invocations.get('env-example')?.options.check) {
      throw new RotvError('.env.example is out of date with the variable table (lib/config/variables.ts and the project file)', { fix: 'run `npx tsx Taskfile.ts env-example` and commit the result' })
    }
    await writeFile(`${path}.tmp`, wanted)
    await rename(`${path}.tmp`, path)
    return { summary: 'wrote .env.example' }
  },
})
