// Where a start spends its time, read from the runner's own progress messages (the same lines the CLI
// shows): each phase lasts from its first message to the first message of the next phase. No extra
// instrumentation in lib/, so the profile is of the code exactly as shipped.
export class PhaseClock {
  private readonly started = performance.now()
  private ended: number | undefined
  private readonly marks: Array<{ phase: string; at: number }> = []

  message(text: string): void {
    const phase = classify(text)
    if (this.marks.at(-1)?.phase !== phase) this.marks.push({ phase, at: performance.now() })
  }

  end(): void {
    this.ended ??= performance.now()
  }

  totalMs(): number {
    return (this.ended ?? performance.now()) - this.started
  }

  /** Milliseconds per phase (a phase seen twice, e.g. PostgreSQL start, is summed). */
  phases(): Record<string, number> {
    const out: Record<string, number> = {}
    const end = this.ended ?? performance.now()
    const first = this.marks[0]?.at ?? end
    if (first > this.started) out['checks (ports, binaries, data dir)'] = first - this.started
    this.marks.forEach((m, i) => {
      const next = this.marks[i + 1]?.at ?? end
      out[m.phase] = (out[m.phase] ?? 0) + (next - m.at)
    })
    return out
  }
}

/** Progress message -> phase name. The strings are lib/runtime's progress lines. */
export function classify(text: string): string {
  if (text.startsWith('looking for a warm cluster')) return 'warm cluster lookup (+ copy into /dev/shm on a hit)'
  if (text.startsWith('copied the warm cluster')) return 'start PostgreSQL on the copied cluster'
  if (text.startsWith('initializing an in-memory cluster')) return 'initdb (or its skeleton) + start PostgreSQL + create databases'
  const load = /^importing [^:]+: ([a-z-]+),/.exec(text)
  if (load) return load[1] === 'finishing' || load[1] === 'done' ? 'import: finishing (+ migrations check)' : `import: ${load[1]}`
  if (text.startsWith('importing snapshot')) return 'import: open snapshot'
  if (text.startsWith('applied migration')) return 'migrations'
  if (text.startsWith('keeping a pristine copy')) return 'pristine copy for reset'
  if (text.startsWith('staging the warm cluster')) return 'stop + stage warm cluster + restart PostgreSQL'
  if (text.startsWith('finishing the pristine copy')) return 'pristine template copy still running after /api/health'
  if (text.startsWith('starting the app')) return 'app process start'
  if (text.startsWith('waiting for')) return 'app boot to /api/health'
  return `other: ${text.slice(0, 40)}`
}
