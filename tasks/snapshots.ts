import { RotvError } from '../lib/errors.ts'
import { ageOf, openStore } from '../lib/snapshots/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { mb } from './format.ts'

export default defineTask({
  name: 'snapshots',
  description: 'List the stored snapshots (name, source, age, size, rows); `snapshots rm NAME` deletes, `snapshots verify NAME` checks',
  args: [
    { name: 'action', description: 'list (default), rm or verify' },
    { name: 'name', description: 'the snapshot, for rm and verify' },
  ],
  examples: ['npx tsx Taskfile.ts snapshots', 'npx tsx Taskfile.ts snapshots rm prod-2026-01', 'npx tsx Taskfile.ts snapshots verify production'],
  async run(ctx, io) {
    const store = openStore(ctx.loaded.config.dataHome)
    const inv = ctx.invocations.get('snapshots')
    const action = (inv?.args.action as string | undefined) ?? 'list'
    const name = inv?.args.name as string | undefined
    if (action === 'rm' || action === 'verify') {
      if (!name) throw new RotvError(`snapshots ${action} needs a snapshot name`, { fix: `npx tsx Taskfile.ts snapshots ${action} NAME` })
      if (action === 'rm') {
        const removed = await store.remove(name)
        if (!removed) throw new RotvError(`there is no snapshot named "${name}"`, { fix: 'run `npx tsx Taskfile.ts snapshots` to list them' })
        return { summary: `removed snapshot "${name}"` }
      }
      const m = await store.verify(name)
      return { summary: `snapshot "${name}" is intact (sha256 ${m.sha256.slice(0, 12)}, ${mb(m.compressedBytes)})` }
    }
    if (action !== 'list') throw new RotvError(`unknown action "${action}"`, { fix: 'use list, rm NAME or verify NAME' })
    const all = await store.list()
    const maxAge = ctx.loaded.config.seed.maxAgeDays
    for (const m of all) {
      const age = ageOf(m)
      const biggest = Object.entries(m.tables).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, n]) => `${t.replace(/^public\./, '')} ${n}`)
      io.log(
        `${m.name.padEnd(16)} ${m.source.kind.padEnd(10)} ${`${age.text} old${age.days > maxAge ? ' (STALE)' : ''}`.padEnd(18)} ${mb(m.compressedBytes).padStart(9)} on disk  ${m.totalRows.toLocaleString('en-US')} rows (${biggest.join(', ')})`,
      )
    }
    return { summary: all.length ? `${all.length} snapshot${all.length > 1 ? 's' : ''}` : 'no snapshots yet (npx tsx Taskfile.ts seed)', data: all }
  },
})
