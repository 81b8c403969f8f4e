// Where the schedule keeps its files in the data home.
import { createHash } from 'node:crypto'
import { join } from 'node:path'

export interface SchedulePaths {
  dir: string
  /** The installed entry: scheduler, time, environment. */
  entry: string
  /** The script cron or systemd runs. */
  job: string
  /** The job's output, appended run after run. */
  log: string
  lastRun: string
}

export function schedulePaths(dataHome: string): SchedulePaths {
  const dir = join(dataHome, 'schedule')
  return { dir, entry: join(dir, 'schedule.json'), job: join(dir, 'refresh-job.sh'), log: join(dir, 'refresh.log'), lastRun: join(dir, 'last-run.json') }
}

/** One entry per data home: the id that marks it in a crontab or names its systemd units. */
export function scheduleId(dataHome: string): string {
  return createHash('sha256').update(dataHome).digest('hex').slice(0, 12)
}
