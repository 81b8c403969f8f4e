// Everything the benchmark starts (PostgreSQL servers, the app, sshd, containers, temp dirs) registers
// its undo here as soon as it exists. The undos run in reverse order at the end, on a failure, and on
// Ctrl-C/SIGTERM (which also aborts the running case through `signal`), so nothing outlives a run.
// A second Ctrl-C exits at once.
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
    const handler = (sig: NodeJS.Signals) => {
      this.interrupted++
      if (this.interrupted > 1) process.exit(130)
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
