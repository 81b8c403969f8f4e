import { openTestDatabases } from '../lib/test-db/index.ts'
import { RotvError } from '../lib/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'test-db',
  description: 'Show the pool of test databases (copies of the pristine snapshot for the app\'s own tests, from `rotv-dev/test-db`); `--fill N` makes N ready, `--clear` drops them',
  options: [
    { name: 'fill', type: 'string', description: 'make this many ready copies now (each is a full copy in memory)' },
    { name: 'clear', type: 'flag', description: 'drop every pool database, leased ones included' },
  ],
  examples: ['npx tsx Taskfile.ts test-db', 'npx tsx Taskfile.ts test-db --fill 4', 'npx tsx Taskfile.ts test-db --clear'],
  async run(ctx, io) {
    const inv = ctx.invocations.get('test-db')
    const pool = await openTestDatabases({ home: ctx.loaded.config.dataHome })
    if (inv?.options.clear === true) return { summary: `dropped ${await pool.clear()} test database(s)` }
    const fill = inv?.options.fill as string | undefined
    if (fill !== undefined) {
      const n = Number(fill)
      if (!Number.isInteger(n) || n < 0) throw new RotvError(`--fill ${fill} is not a count`, { fix: 'give a whole number, e.g. --fill 2' })
      io.log(`made ${await pool.fill(n)} ready cop${n === 1 ? 'y' : 'ies'}`)
    }
    const entries = await pool.list()
    for (const e of entries) io.log(`${e.name}  ${e.state === 'ready' ? 'ready' : `leased by pid ${e.pid}${e.alive ? '' : ' (gone: dropped by the next fill)'}`}`)
    const ready = entries.filter((e) => e.state === 'ready').length
    return { summary: `${ready} ready, ${entries.length - ready} leased`, data: entries }
  },
})
