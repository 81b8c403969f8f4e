// The scheduled refresh as a systemd user timer: Persistent=true, so a laptop that was off (or asleep) at
// the set time refreshes when it is next up, which cron cannot do.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { run } from '../process/index.ts'
import { ScheduleInstallError } from './errors.ts'

export interface TimerEntry {
  hour: number
  minute: number
  job: string
  /** Shown in `systemctl --user list-timers`. */
  description: string
}

/** True where a systemd user manager answers (a desktop or `loginctl enable-linger` session). */
export async function systemdUserAvailable(): Promise<boolean> {
  return (await run('systemctl', ['--user', 'show-environment'], { nothrow: true, timeoutMs: 5_000 })).ok
}

export async function installTimer(id: string, entry: TimerEntry): Promise<string> {
  const dir = unitDir()
  await mkdir(dir, { recursive: true })
  const { service, timer } = unitFiles(id, entry)
  await writeFile(join(dir, service.name), service.text)
  await writeFile(join(dir, timer.name), timer.text)
  await systemctl(['daemon-reload'])
  await systemctl(['enable', '--now', timer.name])
  return timer.name
}

export async function removeTimer(id: string): Promise<boolean> {
  const { service, timer } = unitNames(id)
  const r = await run('systemctl', ['--user', 'disable', '--now', timer], { nothrow: true })
  await rm(join(unitDir(), timer), { force: true })
  await rm(join(unitDir(), service), { force: true })
  await systemctl(['daemon-reload'])
  return r.ok
}

/** The timer's next run as systemd reports it, or undefined when it is not loaded. */
export async function timerNextRun(id: string): Promise<string | undefined> {
  const r = await run('systemctl', ['--user', 'show', unitNames(id).timer, '-p', 'NextElapseUSecRealtime', '-p', 'LoadState'], { nothrow: true })
  if (!r.ok || !/LoadState=loaded/.test(r.stdout)) return undefined
  return /NextElapseUSecRealtime=(.+)/.exec(r.stdout)?.[1]?.trim() || 'scheduled'
}

// Helpers

export function unitFiles(id: string, e: TimerEntry): { service: { name: string; text: string }; timer: { name: string; text: string } } {
  const names = unitNames(id)
  const hh = String(e.hour).padStart(2, '0')
  const mm = String(e.minute).padStart(2, '0')
  return {
    service: {
      name: names.service,
      text: `[Unit]\nDescription=${e.description}\n\n[Service]\nType=oneshot\nExecStart=${systemdQuote(e.job)}\n# a refresh is background work: it must not slow the machine down\nNice=10\nIOSchedulingClass=idle\n`,
    },
    timer: {
      name: names.timer,
      text: `[Unit]\nDescription=${e.description} (timer)\n\n[Timer]\nOnCalendar=*-*-* ${hh}:${mm}:00\nPersistent=true\nRandomizedDelaySec=120\n\n[Install]\nWantedBy=timers.target\n`,
    },
  }
}

function unitNames(id: string): { service: string; timer: string } {
  return { service: `rotv-refresh-${id}.service`, timer: `rotv-refresh-${id}.timer` }
}

function unitDir(): string {
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user')
}

function systemdQuote(path: string): string {
  // systemd's ExecStart takes a quoted first word; % starts a specifier and is doubled.
  return `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`
}

async function systemctl(args: string[]): Promise<void> {
  const r = await run('systemctl', ['--user', ...args], { nothrow: true })
  if (!r.ok) throw new ScheduleInstallError(`systemctl --user ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`, { fix: 'check `systemctl --user status`, or install with --with cron' })
}
