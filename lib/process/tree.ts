// Stopping a child and everything it started. A child runs in its own process group, but a
// descendant can leave it (pg_ctl's postmaster calls setsid): the tree is read from /proc by parent
// pid, each member signalled, and whatever outlives the grace period is killed.
import { readdirSync, readFileSync } from 'node:fs'

interface Member {
  pid: number
  /** /proc/PID/stat starttime: a pid reused by another program does not match. */
  start: string
}

/**
 * Whether `pid` is a running process. A zombie is not: it has exited and only waits to be reaped, which
 * an init that is not a real one (these VMs' PID 1, some container inits) does seconds late, so
 * `kill(pid, 0)` alone made `stop` wait ~1.8 s for an app that had long exited. EPERM: it exists, it is
 * just not ours to signal.
 */
export function processAlive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const e = readStat(pid)
  return e ? !e.zombie : true // no /proc (not Linux): the signal's answer stands
}

/** SIGTERM the group and tree of `pid`, SIGKILL what is left after graceMs. Resolves when all are gone. */
export async function stopTree(pid: number, graceMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const members = treeOf(pid)
  signalAll(pid, members, signal)
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!anyAlive(members) && !groupAlive(pid)) return
    await sleep(20)
  }
  // Late arrivals (spawned while it was stopping) count too.
  const rest = [...members.filter(isAlive), ...treeOf(pid)]
  signalAll(pid, rest, 'SIGKILL')
  const hardDeadline = Date.now() + 5_000
  while ((anyAlive(rest) || groupAlive(pid)) && Date.now() < hardDeadline) await sleep(20)
}

/** `pid` and its descendants, as they are now (empty where there is no /proc). */
export function treeOf(pid: number): Member[] {
  const table = processTable()
  const byParent = new Map<number, Member[]>()
  for (const p of table.values()) {
    const list = byParent.get(p.ppid) ?? []
    list.push({ pid: p.pid, start: p.start })
    byParent.set(p.ppid, list)
  }
  const root = table.get(pid)
  if (!root) return []
  const out: Member[] = [{ pid, start: root.start }]
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]!.pid) ?? []))
  return out
}

interface ProcEntry {
  pid: number
  ppid: number
  pgid: number
  start: string
  zombie: boolean
}

function processTable(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>()
  let names: string[]
  try {
    names = readdirSync('/proc')
  } catch {
    return table
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    const entry = readStat(Number(name))
    if (entry) table.set(entry.pid, entry)
  }
  return table
}

function readStat(pid: number): ProcEntry | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name is in parentheses and may hold spaces: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { pid, ppid: Number(f[1]), pgid: Number(f[2]), start: f[19] ?? '', zombie: f[0] === 'Z' }
}

function isAlive(m: Member): boolean {
  const e = readStat(m.pid)
  return !!e && !e.zombie && e.start === m.start
}

function anyAlive(members: Member[]): boolean {
  return members.some(isAlive)
}

/** Whether any live (non-zombie) process is still in the process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  for (const e of processTable().values()) if (e.pgid === pgid && !e.zombie) return true
  return false
}

function signalAll(pgid: number, members: Member[], signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {}
  for (const m of members) {
    if (!isAlive(m)) continue
    try {
      process.kill(m.pid, signal)
    } catch {}
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
