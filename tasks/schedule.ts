import { join } from 'node:path'
import { anonymizeSettings } from '../lib/anonymize/from-config.ts'
import { ConfigInvalidError } from '../lib/config/errors.ts'
import { validateEnvironment } from '../lib/config/validate.ts'
import { variableSpec, type VariableSpec } from '../lib/config/variables.ts'
import { describeError, RotvError } from '../lib/errors.ts'
import { sourceSpec } from '../lib/runtime/from-config.ts'
import {
  describeLastRun, installSchedule, parseTimeOfDay, recordScheduledRun, removeSchedule, scheduleStatus,
  ScheduleSecretFromShellError, type Scheduler,
} from '../lib/schedule/index.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { defineTask, type TaskContext, type TaskIO } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'schedule',
  description: 'Refresh a snapshot every night: `schedule install [--at 02:00] [ENVIRONMENT]` (a systemd user timer, else a crontab line), `schedule status`, `schedule remove`',
  args: [
    { name: 'action', description: 'status (default), install, remove, or run (what the scheduler runs; by hand it is one refresh)' },
    { name: 'environment', description: 'install/run: the environment to pull (default: the configured one)' },
  ],
  options: [
    { name: 'at', type: 'string', description: 'install: the time of day, HH:MM in local time (default 02:00)' },
    { name: 'with', type: 'string', description: 'install: cron or systemd (default: systemd where a user manager runs, else cron)' },
  ],
  examples: [
    'npx tsx Taskfile.ts schedule install                 # production, every night at 02:00',
    'npx tsx Taskfile.ts schedule install --at 05:30 staging',
    'npx tsx Taskfile.ts schedule status',
    'npx tsx Taskfile.ts schedule remove',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const inv = ctx.invocations.get('schedule')
    const action = (inv?.args.action as string | undefined) ?? 'status'
    const environment = inv?.args.environment as string | undefined
    if (action === 'install') {
      validated(ctx)
      const spec = sourceSpec(config, environment) // an unknown environment fails here, not at 2am
      const at = parseTimeOfDay((inv?.options.at as string | undefined) ?? '02:00')
      const scheduler = schedulerOption(inv?.options.with as string | undefined)
      const installed = await installSchedule({
        dataHome: config.dataHome,
        root: ctx.root,
        environment: spec.name,
        at,
        envFile: config.envFile && config.envFile !== join(ctx.root, '.env') ? config.envFile : undefined,
        env: shellSettings(ctx.loaded.values, ctx.loaded.variables),
        scheduler,
      })
      io.log(`${installed.scheduler === 'cron' ? 'crontab' : 'systemd timer'}: ${installed.entry}`)
      io.log(`job: ${installed.job}; log: ${installed.log}`)
      if (installed.scheduler === 'cron') io.log('cron does not catch up on a run missed while the machine was off; `start` still warns when the snapshot is stale')
      return { summary: `"${spec.name}" refreshes every day at ${installed.at} (${installed.scheduler})`, data: installed }
    }
    if (action === 'remove') {
      const r = await removeSchedule(config.dataHome)
      return { summary: r.removed ? `scheduled refresh removed (${r.scheduler})` : 'no scheduled refresh was installed for this data home', data: r }
    }
    if (action === 'run') return { ...(await refreshNow(ctx, io, environment)) }
    if (action !== 'status') throw new RotvError(`unknown action "${action}"`, { fix: 'use status, install, remove or run' })
    const st = await scheduleStatus(config.dataHome)
    if (st.lastRun) io.log(describeLastRun(st.lastRun))
    if (!st.installed) return { summary: 'no scheduled refresh (npx tsx Taskfile.ts schedule install)', data: st }
    const i = st.installed
    if (!st.present) {
      io.warn(`the ${i.scheduler === 'cron' ? 'crontab line' : 'systemd timer'} of this schedule is gone (removed by hand?): run \`npx tsx Taskfile.ts schedule install\` again`)
    }
    if (st.nextRun) io.log(`next run: ${st.nextRun}`)
    io.log(`log: ${i.log}`)
    return { summary: `"${i.environment}" refreshes every day at ${i.at} (${i.scheduler})${st.present ? '' : ', but its entry is missing'}`, data: st }
  },
})

// Helpers

/** One refresh, recorded for `status` whatever its end. The pull takes the snapshot's lock and leaves a
 * running environment alone: it keeps its data, and the next start uses the new snapshot. */
async function refreshNow(ctx: TaskContext, io: TaskIO, environment: string | undefined) {
  const config = ctx.loaded.config
  const startedAt = new Date().toISOString()
  const environmentName = (environment ?? config.seed.defaultSource).toLowerCase()
  try {
    // Inside the try: a configuration broken since the install is a failed run that `status` reports.
    validated(ctx)
    const spec = sourceSpec(config, environment)
    const anonymize = await anonymizeSettings(ctx.root, ctx.loaded, {})
    io.log(`refreshing "${spec.name}" (${spec.kind})${anonymize ? ', anonymized in flight' : ''}`)
    const manifest = await openStore(config.dataHome).pull(spec, { as: spec.name, signal: ctx.signal, anonymize })
    await recordScheduledRun(config.dataHome, { environment: spec.name, startedAt, finishedAt: new Date().toISOString(), ok: true, snapshot: manifest.name, rows: manifest.totalRows })
    return { summary: `snapshot "${manifest.name}" refreshed: ${manifest.totalRows.toLocaleString('en-US')} rows`, data: manifest }
  } catch (err) {
    const d = describeError(err)
    await recordScheduledRun(config.dataHome, { environment: environmentName, startedAt, finishedAt: new Date().toISOString(), ok: false, error: [d.message, ...(d.details ?? [])].join('; '), fix: d.fix })
    throw err
  }
}

/** The check validate-env makes, for the two actions that pull (install checks now what the job needs then). */
function validated(ctx: TaskContext): void {
  const report = validateEnvironment(ctx.loaded)
  if (report.errors.length > 0) throw new ConfigInvalidError(report.errors)
}

function schedulerOption(v: string | undefined): Scheduler | undefined {
  if (v === undefined || v === 'cron' || v === 'systemd') return v
  throw new RotvError(`--with ${v}: not a scheduler`, { fix: 'use --with cron or --with systemd' })
}

/**
 * The settings this shell set that .env does not hold: the job must see them too (ROTV_HOME above all).
 * A secret among them is refused: it would have to be written into the job, and secrets live in .env.
 */
function shellSettings(values: ReadonlyMap<string, { value: string; origin: string }>, specs: readonly VariableSpec[]): Record<string, string> {
  // This shell's PATH (where ssh, podman, pg_dump are found), without what npm/npx put in front of it.
  const path = (process.env.PATH ?? '/usr/bin:/bin').split(':').filter((d) => d && !/node_modules|node-gyp-bin/.test(d))
  const carried: Record<string, string> = { PATH: [...new Set(path)].join(':') }
  const secrets: string[] = []
  for (const [name, { value, origin }] of values) {
    if (origin !== 'environment') continue
    const spec = variableSpec(name, specs)
    if (!spec) continue
    if (spec.secret) secrets.push(name)
    else carried[name] = value
  }
  if (secrets.length) {
    throw new ScheduleSecretFromShellError(`${secrets.join(', ')} ${secrets.length > 1 ? 'are' : 'is'} set in this shell only: the scheduled job runs without this shell, and a secret is never written into a crontab or a job script`, {
      fix: `put ${secrets.length > 1 ? 'them' : 'it'} in the project's .env (git-ignored), unset ${secrets.length > 1 ? 'them' : 'it'} here, and install again`,
    })
  }
  return carried
}
