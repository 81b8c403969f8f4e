// Scheduled refresh: a daily job that pulls a fresh snapshot of one environment into this data home.
// Where a systemd user manager runs it is a user timer (Persistent=true catches up after sleep), else a
// line in the user's crontab. One entry per data home: installing again replaces it.
import { createRequire } from 'node:module'
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ScheduleTimeError, SchedulerUnavailableError } from './errors.ts'
import { cronAvailable, findCronEntry, installCronEntry, removeCronEntry } from './crontab.ts'
import { writeJobScript } from './job.ts'
import { describeLastRun, lastScheduledRun, type ScheduledRunResult } from './last-run.ts'
import { scheduleId, schedulePaths } from './paths.ts'
import { installTimer, removeTimer, systemdUserAvailable, timerNextRun } from './systemd.ts'

export { recordScheduledRun, lastScheduledRun, describeLastRun, type ScheduledRunResult } from './last-run.ts'
export { schedulePaths } from './paths.ts'
export * from './errors.ts'

export type Scheduler = 'cron' | 'systemd'

export interface InstallOptions {
  dataHome: string
  /** The project root (where Taskfile.ts is). */
  root: string
  environment: string
  at: TimeOfDay
  envFile?: string
  /** Non-secret settings to carry into the job (they came from this shell, not from .env). */
  env: Record<string, string>
  /** Default: systemd where a user manager runs, else cron. */
  scheduler?: Scheduler
}

export interface TimeOfDay {
  hour: number
  minute: number
}

export interface InstalledSchedule {
  scheduler: Scheduler
  environment: string
  at: string
  installedAt: string
  /** The crontab line or the timer unit's name. */
  entry: string
  job: string
  log: string
}

export interface ScheduleStatus {
  installed?: InstalledSchedule
  /** false when the record says installed but the crontab line or timer is gone (edited out by hand). */
  present: boolean
  /** systemd only: when the timer fires next. */
  nextRun?: string
  lastRun?: ScheduledRunResult
}

/** "02:00", "2:30", "23:05" -> a time of day; anything else is a ScheduleTimeError. */
export function parseTimeOfDay(text: string): TimeOfDay {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim())
  if (!m) throw new ScheduleTimeError(`--at ${text} is not a time of day`, { fix: 'give it as HH:MM in this machine\'s local time, e.g. --at 02:00' })
  return { hour: Number(m[1]), minute: Number(m[2]) }
}

export async function installSchedule(o: InstallOptions): Promise<InstalledSchedule> {
  const scheduler = o.scheduler ?? ((await systemdUserAvailable()) ? 'systemd' : 'cron')
  if (scheduler === 'systemd' && !(await systemdUserAvailable())) {
    throw new SchedulerUnavailableError('no systemd user manager answers here (`systemctl --user` fails)', { fix: 'install with --with cron, or log in to a session with a user manager (loginctl enable-linger)' })
  }
  if (scheduler === 'cron' && !(await cronAvailable())) {
    throw new SchedulerUnavailableError('there is no crontab command on this machine', { fix: 'install cron (Debian: apt-get install cron) and start it (service cron start)' })
  }
  const paths = schedulePaths(o.dataHome)
  const id = scheduleId(o.dataHome)
  await writeJobScript(paths.job, {
    root: o.root,
    node: process.execPath,
    tsxCli: tsxCliPath(o.root),
    environment: o.environment,
    envFile: o.envFile,
    env: o.env,
    log: paths.log,
  })
  // A switch of scheduler must not leave the other one's entry behind.
  const previous = await readInstalled(o.dataHome)
  if (previous && previous.scheduler !== scheduler) await removeEntry(previous.scheduler, id)
  const entry = scheduler === 'cron'
    ? await installCronEntry(id, { ...o.at, job: paths.job })
    : await installTimer(id, { ...o.at, job: paths.job, description: `rotv-dev refresh of ${o.environment} into ${o.dataHome}` })
  const installed: InstalledSchedule = {
    scheduler,
    environment: o.environment,
    at: `${String(o.at.hour).padStart(2, '0')}:${String(o.at.minute).padStart(2, '0')}`,
    installedAt: new Date().toISOString(),
    entry,
    job: paths.job,
    log: paths.log,
  }
  await mkdir(paths.dir, { recursive: true, mode: 0o700 })
  await writeFile(paths.entry, `${JSON.stringify(installed, null, 2)}\n`, { mode: 0o600 })
  return installed
}

/** Removes this data home's entry (and only it); the last-run record and the log stay. */
export async function removeSchedule(dataHome: string): Promise<{ removed: boolean; scheduler?: Scheduler }> {
  const installed = await readInstalled(dataHome)
  const id = scheduleId(dataHome)
  // Without a record, still look in the crontab: the record may have been deleted with a data home reset.
  const scheduler = installed?.scheduler ?? 'cron'
  const removed = (await removeEntry(scheduler, id).catch((err) => { if (installed) throw err; return false })) || installed !== undefined
  const paths = schedulePaths(dataHome)
  await rm(paths.entry, { force: true })
  await rm(paths.job, { force: true })
  return { removed, scheduler: removed ? scheduler : undefined }
}

export async function scheduleStatus(dataHome: string): Promise<ScheduleStatus> {
  const installed = await readInstalled(dataHome)
  const lastRun = await lastScheduledRun(dataHome)
  if (!installed) return { present: false, lastRun }
  const id = scheduleId(dataHome)
  if (installed.scheduler === 'cron') {
    const present = (await findCronEntry(id).catch(() => undefined)) !== undefined
    return { installed, present, lastRun }
  }
  const nextRun = await timerNextRun(id)
  return { installed, present: nextRun !== undefined, nextRun, lastRun }
}

/** One line for `status` and `snapshots`, or undefined when nothing was ever scheduled. */
export function describeSchedule(st: ScheduleStatus): string | undefined {
  const last = st.lastRun ? describeLastRun(st.lastRun) : undefined
  if (!st.installed) return last ? `scheduled refresh: not installed; ${last}` : undefined
  const i = st.installed
  const entry = st.present ? '' : ` (its ${i.scheduler === 'cron' ? 'crontab line' : 'timer'} is gone: schedule install again)`
  return `scheduled refresh: "${i.environment}" daily at ${i.at} (${i.scheduler})${entry}; ${last ?? 'not run yet'}`
}

// Helpers

async function readInstalled(dataHome: string): Promise<InstalledSchedule | undefined> {
  try {
    return JSON.parse(await readFile(schedulePaths(dataHome).entry, 'utf8')) as InstalledSchedule
  } catch {
    return undefined
  }
}

async function removeEntry(scheduler: Scheduler, id: string): Promise<boolean> {
  return scheduler === 'cron' ? removeCronEntry(id) : removeTimer(id)
}

function tsxCliPath(root: string): string {
  // The project's own tsx, as `npx tsx` would pick it; resolved now so the job needs no npx or PATH.
  const require = createRequire(join(root, 'package.json'))
  const pkgPath = require.resolve('tsx/package.json')
  const bin = (require(pkgPath) as { bin?: string | Record<string, string> }).bin
  const rel = typeof bin === 'string' ? bin : bin?.tsx ?? 'dist/cli.mjs'
  return join(dirname(pkgPath), rel)
}
