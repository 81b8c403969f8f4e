import { validateEnvironment } from '../lib/config/validate.ts'
import { ConfigInvalidError } from '../lib/config/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'validate-env',
  description: 'Check .env against .env.example before any container or database work',
  examples: ['npx tsx Taskfile.ts validate-env', 'npx tsx Taskfile.ts validate-env --json'],
  async run(ctx, io) {
    const report = validateEnvironment(ctx.loaded)
    // Asked for by name: every line. As the dependency of start/seed: one line naming what is off, so
    // a daily start does not repeat the same paragraph each time (validate-env has the detail).
    if (ctx.invocations.has('validate-env')) {
      for (const line of report.enabled) io.log(line)
      for (const notice of report.notices) io.log(`off: ${notice}`)
    } else if (report.notices.length) {
      io.log(`optional features off: ${report.notices.map(featureName).join(', ')} (how to turn them on: npx tsx Taskfile.ts validate-env)`)
    }
    if (report.errors.length > 0) throw new ConfigInvalidError(report.errors)
    return {
      summary: `configuration OK${report.notices.length ? ` (${report.notices.length} optional feature${report.notices.length > 1 ? 's' : ''} off)` : ''}`,
      data: { enabled: report.enabled, off: report.notices, envFile: ctx.loaded.config.envFile ?? null },
    }
  },
})

/** "Session secret: not set; ..." -> "session secret": the notice's own heading, before its colon. */
function featureName(notice: string): string {
  const head = notice.split(':')[0]!
  return /^[A-Z][a-z]/.test(head) && !/^OAuth/.test(head) ? head[0]!.toLowerCase() + head.slice(1) : head
}
