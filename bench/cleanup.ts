// Everything the benchmark starts (PostgreSQL servers, the app, sshd, containers, temp dirs) registers
// its undo here as soon as it exists. The undos run in reverse order at the end, on a failure, and on
// Ctrl-C/SIGTERM (which also aborts the running case through `signal`), so nothing outlives a run.
// A second Ctrl-C (more than 1.5 s after the first) exits at once.
const DUPLICATE_WINDOW_MS = 1500

export class Cleanup {
  private readonly steps: Array<{ label: string; fn: () => Promise<unknown> }> = []
  private readonly controller = new AbortController()
  private interrupted = 0
  readonly signal = this.controller.signal

  /** Registers an undo; returns a function that runs it now (and unregisters it). */
  add(label: string, fn: () => Promise<unknown>): () => Promise<void> {
    const step = { label, fn }
    this.steps.push(step)
    return async () => {
      const i = this.steps.indexOf(step)
      if (i < 0) return
      this.steps.splice(i, 1)
      await runStep(step)
    }
  }

  async runAll(): Promise<void> {
    while (this.steps.length) await runStep(this.steps.pop()!)
  }

  /** SIGINT/SIGTERM abort the run; the caller's finally block then runs runAll(). */
  installSignalHandlers(onInterrupt: (signal: NodeJS.Signals) => void): void {
    let first = 0
    const handler = (sig: NodeJS.Signals) => {
      // One Ctrl-C arrives several times: from the terminal to the whole process group, and again
      // relayed by npm and by the tsx CLI. Only a signal well after the first is a second Ctrl-C.
      if (this.interrupted > 0) {
        if (Date.now() - first > DUPLICATE_WINDOW_MS) process.exit(130)
        return
      }
      this.interrupted++
      first = Date.now()
      onInterrupt(sig)
      this.controller.abort(new Error(`interrupted (${sig})`))
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  }

  get wasInterrupted(): boolean {
    return this.interrupted > 0
  }
}

async function runStep(step: { label: string; fn: () => Promise<unknown> }): Promise<void> {
  try {
    await step.fn()
  } catch (err) {
    process.stderr.write(`bench: cleanup "${step.label}" failed: ${(err as Error).message}\n`)
  }
}
