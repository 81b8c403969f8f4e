// Peak resident memory of a process while a case runs, read from /proc/PID/status.
// For this process VmHWM is useless per case (it is the lifetime peak, set by whichever case came
// first), so the current VmRSS is sampled and its maximum kept; for a child started for the case
// (psql) its own VmHWM is the exact peak of its lifetime, and is read on every sample.
import { readFileSync } from 'node:fs'

export interface RssWatch {
  /** Stops sampling and returns the peak in bytes (NaN when /proc was unreadable the whole time). */
  stop(): number
}

export function watchRss(pid: number, opts: { useHighWaterMark: boolean; intervalMs?: number }): RssWatch {
  let peak = NaN
  const sample = () => {
    const kb = readStatusKb(pid, opts.useHighWaterMark ? 'VmHWM' : 'VmRSS')
    if (kb !== undefined && !(kb * 1024 <= peak)) peak = kb * 1024
  }
  sample()
  const timer = setInterval(sample, opts.intervalMs ?? 25)
  timer.unref()
  return {
    stop() {
      sample()
      clearInterval(timer)
      return peak
    },
  }
}

function readStatusKb(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined // the process has exited (or /proc is absent)
  }
}
