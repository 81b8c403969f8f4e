import { hostStatus } from '../lib/runtime/host.ts'
import { ageOf, openStore } from '../lib/snapshots/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { countsLine, mb } from './format.ts'

export default defineTask({
  name: 'status',
  description: 'Show what runs: runtime, storage mode, snapshot and its age, URL, database size',
  examples: ['npx tsx Taskfile.ts status', 'npx tsx Taskfile.ts status --json'],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const status = await hostStatus(config.dataHome)
    if (!status.running || !status.state) return { summary: 'not running', data: { running: false } }
    const s = status.state
    const manifest = s.snapshot ? await openStore(config.dataHome).get(s.snapshot.name).catch(() => undefined) : undefined
    io.log(`runtime: host; storage: ${s.mode === 'dev' ? `in-memory (${s.pgdata})` : `persistent (${s.pgdata})`}`)
    io.log(`PostgreSQL ${s.pgVersion}: ${status.postgres.running ? `running (pid ${status.postgres.pid}, 127.0.0.1:${s.pgPort})` : 'NOT running'}${status.postgres.databaseBytes ? `, ${s.dbName} is ${mb(status.postgres.databaseBytes)}` : ''}`)
    io.log(`app: ${status.app.running ? `running (pid ${status.app.pid})` : 'NOT running'}, ${status.app.healthy ? `healthy: ${countsLine(status.app.health?.counts)}` : `not healthy${status.app.reason ? ` (${status.app.reason})` : ''}`}`)
    if (s.snapshot) io.log(`snapshot: ${s.snapshot.name}${manifest ? `, pulled ${ageOf(manifest).text} ago` : ''} (${s.prepared})`)
    io.log(`logs: ${s.logs.app}, ${s.logs.postgres}`)
    const healthy = status.app.healthy && status.postgres.running
    return {
      summary: healthy ? `running at http://localhost:${s.appPort}` : 'partly running: see above (npx tsx Taskfile.ts stop start to restart)',
      data: { running: true, healthy, url: `http://localhost:${s.appPort}`, mode: s.mode, runtime: 'host', snapshot: s.snapshot ?? null, databaseBytes: status.postgres.databaseBytes ?? null, startedAt: s.startedAt, counts: status.app.health?.counts ?? null },
    }
  },
})
