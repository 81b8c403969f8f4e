// The scheduled refresh as one line in the user's crontab (Debian's cron), marked with the data home's id,
// so that installing again replaces it, and removing it leaves every other line as the user wrote it.
import { run } from '../process/index.ts'
import { ScheduleInstallError, SchedulerUnavailableError } from './errors.ts'

export interface CronEntry {
  hour: number
  minute: number
  /** The script to run: an absolute path. */
  job: string
}

export async function cronAvailable(): Promise<boolean> {
  return (await run('crontab', ['-l'], { nothrow: true })).spawnError === undefined
}

/** Adds the entry for `id`, or replaces it: never two lines for one data home. */
export async function installCronEntry(id: string, entry: CronEntry): Promise<string> {
  const line = cronLine(id, entry)
  const kept = withoutEntry(await readCrontab(), id)
  await writeCrontab([...kept, line])
  return line
}

/** Removes the entry for `id`; true when there was one. */
export async function removeCronEntry(id: string): Promise<boolean> {
  const lines = await readCrontab()
  const kept = withoutEntry(lines, id)
  if (kept.length === lines.length) return false
  await writeCrontab(kept)
  return true
}

/** The installed line for `id`, if the crontab still has it (a user may have edited it out). */
export async function findCronEntry(id: string): Promise<string | undefined> {
  return (await readCrontab()).find((l) => isEntry(l, id))
}

// Helpers

const MARK = '# rotv-dev scheduled refresh'

export function cronLine(id: string, e: CronEntry): string {
  // cron turns an unescaped % into a newline, even inside quotes; the rest is sh's quoting.
  const job = `'${e.job.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%')
  return `${e.minute} ${e.hour} * * * ${job} ${MARK} ${id} (managed by: npx tsx Taskfile.ts schedule)`
}

function isEntry(line: string, id: string): boolean {
  return line.includes(`${MARK} ${id}`)
}

function withoutEntry(lines: string[], id: string): string[] {
  return lines.filter((l) => !isEntry(l, id))
}

async function readCrontab(): Promise<string[]> {
  const r = await run('crontab', ['-l'], { nothrow: true })
  if (r.spawnError) throw unavailable()
  if (!r.ok) {
    // Debian's crontab exits 1 with "no crontab for USER" when there is none yet.
    if (/no crontab for/i.test(r.stderr)) return []
    throw new ScheduleInstallError(`crontab -l failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`, { fix: 'check that you may use cron (/etc/cron.allow, /etc/cron.deny)' })
  }
  const lines = r.stdout.split('\n')
  while (lines.length && lines[lines.length - 1] === '') lines.pop()
  return lines
}

async function writeCrontab(lines: string[]): Promise<void> {
  const r = await run('crontab', ['-'], { input: lines.length ? `${lines.join('\n')}\n` : '', nothrow: true })
  if (!r.ok) {
    throw new ScheduleInstallError(`crontab refused the new table: ${r.stderr.trim() || `exit ${r.exitCode}`}`, {
      fix: 'check `crontab -l` by hand; your other entries were not changed',
    })
  }
}

function unavailable(): SchedulerUnavailableError {
  return new SchedulerUnavailableError('there is no crontab command on this machine and no systemd user manager', {
    fix: 'install cron (Debian: apt-get install cron, then start it: service cron start), or run in a session with a systemd user manager',
  })
}
