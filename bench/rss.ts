// Peak resident memory of a child process (psql in the baseline), read from /proc/PID/status while it
// runs. VmHWM is the kernel's own high-water mark for that process, so sampling it every 25 ms and
// keeping the last value read loses at most what it allocates in its final 25 ms.
import { readFileSync } from 'node:fs'

export interface RssWatch {
  /** Stops sampling and returns the peak in bytes (NaN when /proc was never readable). */
  stop(): number
}

export function watchPeakRss(pid: number, intervalMs = 25): RssWatch {
  let peak = NaN
  const sample = () => {
    const kb = readStatusKb(pid, 'VmHWM')
    if (kb !== undefined && !(kb * 1024 <= peak)) peak = kb * 1024
  }
  sample()
  const timer = setInterval(sample, intervalMs)
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
