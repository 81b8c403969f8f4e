import { runtimeOfRunning } from '../lib/container/select-runtime.ts'
import { containerStatus } from '../lib/runtime/container.ts'
import { databaseUrlOf, hostStatus } from '../lib/runtime/host.ts'
import { describeSchedule, scheduleStatus } from '../lib/schedule/index.ts'
import { ageOf, openStore } from '../lib/snapshots/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { countsLine, mb, withLine } from './format.ts'

export default defineTask({
  name: 'status',
  description: 'Show what runs: runtime, storage mode, snapshot and its age, URL, database size',
  examples: ['npx tsx Taskfile.ts status', 'npx tsx Taskfile.ts status --json'],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const store = openStore(config.dataHome)
    const scheduled = describeSchedule(await scheduleStatus(config.dataHome))
    if (scheduled) io.log(scheduled)
    const pulledAgo = async (name?: string) => {
      const m = name ? await store.get(name).catch(() => undefined) : undefined
      return m ? `, pulled ${ageOf(m).text} ago` : ''
    }
    if (runtimeOfRunning(config) === 'container') {
      const st = await containerStatus(config.dataHome)
      if (!st.state) return { summary: 'not running', data: { running: false } }
      const s = st.state
      io.log(`runtime: container ${s.name} (${s.engine}, ${s.image}); storage: ${s.mode === 'dev' ? 'in-memory (tmpfs)' : `persistent (${s.dataDir})`}`)
      io.log(`container: ${st.container ? st.container.status : 'gone'}`)
      // The same lines as the host runtime's, through the published PG_PORT.
      const dbName = s.dbName ?? st.inside?.dbName
      const databaseUrl = s.pgPort && dbName ? databaseUrlOf({ pgPort: s.pgPort, dbName }) : undefined
      if (st.inside || st.postgres) {
        const where = s.pgPort ? `, 127.0.0.1:${s.pgPort}` : ''
        io.log(`PostgreSQL ${st.inside?.pgVersion ?? ''}: ${st.postgres?.reachable ? `running (in the container${where})` : st.container?.running ? `not answering on 127.0.0.1:${s.pgPort ?? '?'}` : 'NOT running'}${st.postgres?.databaseBytes ? `, ${dbName} is ${mb(st.postgres.databaseBytes)}` : ''}`)
      }
      if (databaseUrl) io.log(`database: ${databaseUrl}`)
      io.log(`app: ${st.app.healthy ? withLine('healthy', countsLine(st.app.health?.counts, config.project)) : `not healthy${st.app.reason ? ` (${st.app.reason})` : ''}`}`)
      if (s.snapshot) io.log(`snapshot: ${s.snapshot.name}${await pulledAgo(s.snapshot.name)} (${st.inside?.prepared ?? s.prepared ?? 'unknown'})`)
      if (st.spareReady !== undefined) {
        io.log(`reset: ${st.spareReady ? 'a spare copy is ready (renames only)' : 'no spare copy right now: the next reset waits for one being made, or copies (its log: /var/log/rotv/spare.log in the container)'}`)
      }
      io.log(`logs: npx tsx Taskfile.ts logs   (${s.engine} logs ${s.name}${s.logs ? `; ${s.logs.postgres}, ${s.logs.spare}` : ''})`)
      const healthy = st.running && st.app.healthy
      const url = `http://localhost:${s.appPort}`
      return {
        summary: healthy ? `running at ${url}` : 'partly running: see above (npx tsx Taskfile.ts stop start to restart)',
        data: { running: st.running, healthy, url, databaseUrl: databaseUrl ?? null, mode: s.mode, runtime: 'container', container: s.name, image: s.image, snapshot: s.snapshot ?? null, databaseBytes: st.postgres?.databaseBytes ?? null, spareReady: st.spareReady ?? null, startedAt: s.startedAt, counts: st.app.health?.counts ?? null },
      }
    }
    const status = await hostStatus(config.dataHome)
    if (!status.running && status.interrupted) {
      const r = status.interrupted.record
      io.warn(`a start was interrupted (runner pid ${r.runnerPid} is gone, ${r.startedAt})${status.interrupted.serverRunning ? ` and left PostgreSQL running on port ${r.pgPort}` : ''}${r.scratchDir ? ` and ${r.scratchDir}` : ''}: \`npx tsx Taskfile.ts stop\` (or the next start) cleans it up`)
      return { summary: 'not running (an interrupted start left something behind: see above)', data: { running: false, interrupted: status.interrupted } }
    }
    if (!status.running || !status.state) return { summary: 'not running', data: { running: false } }
    const s = status.state
    io.log(`runtime: host; storage: ${s.mode === 'dev' ? `in-memory (${s.pgdata})` : `persistent (${s.pgdata})`}`)
    io.log(`PostgreSQL ${s.pgVersion}: ${status.postgres.running ? `running (pid ${status.postgres.pid}, 127.0.0.1:${s.pgPort})` : 'NOT running'}${status.postgres.databaseBytes ? `, ${s.dbName} is ${mb(status.postgres.databaseBytes)}` : ''}`)
    io.log(`database: ${databaseUrlOf(s)}`)
    if (s.dbOnly) {
      return {
        summary: status.postgres.running ? `database running at ${databaseUrlOf(s)} (no app: --db-only)` : 'partly running: see above (npx tsx Taskfile.ts stop start to restart)',
        data: { running: true, healthy: status.postgres.running, dbOnly: true, databaseUrl: databaseUrlOf(s), mode: s.mode, runtime: 'host', snapshot: s.snapshot ?? null, databaseBytes: status.postgres.databaseBytes ?? null, startedAt: s.startedAt },
      }
    }
    io.log(`app: ${status.app.running ? `running (pid ${status.app.pid})` : 'NOT running'}, ${status.app.healthy ? withLine('healthy', status.app.readyLine) : `not healthy${status.app.reason ? ` (${status.app.reason})` : ''}`}`)
    if (s.snapshot) io.log(`snapshot: ${s.snapshot.name}${await pulledAgo(s.snapshot.name)} (${s.prepared})`)
    if (status.spareReady !== undefined) {
      io.log(`reset: ${status.spareReady ? 'a spare copy is ready (renames only)' : `no spare copy right now: the next reset waits for one being made, or copies (${s.logs.spare ?? 'logs/spare.log'} says why)`}`)
    }
    if (status.warmSaving) io.log(`background: saving the warm cluster for the next start (${s.logs.warmSave})`)
    io.log(`logs: ${s.logs.app}, ${s.logs.postgres}`)
    const healthy = status.app.healthy && status.postgres.running
    return {
      summary: healthy ? `running at http://localhost:${s.appPort}` : 'partly running: see above (npx tsx Taskfile.ts stop start to restart)',
      data: { running: true, healthy, url: `http://localhost:${s.appPort}`, databaseUrl: databaseUrlOf(s), mode: s.mode, runtime: 'host', snapshot: s.snapshot ?? null, databaseBytes: status.postgres.databaseBytes ?? null, spareReady: status.spareReady ?? null, warmSaving: status.warmSaving ?? false, startedAt: s.startedAt, counts: status.app.health?.counts ?? null },
    }
  },
})
