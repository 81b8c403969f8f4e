import { validateEnvironment } from '../lib/config/validate.ts'
import { ConfigInvalidError } from '../lib/config/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'validate-env',
  description: 'Check .env against .env.example before any container or database work',
  examples: ['npx tsx Taskfile.ts validate-env', 'npx tsx Taskfile.ts validate-env --json'],
  async run(ctx, io) {
    const report = validateEnvironment(ctx.loaded)
    for (const line of report.enabled) io.log(line)
    for (const notice of report.notices) io.log(`off: ${notice}`)
    if (report.errors.length > 0) throw new ConfigInvalidError(report.errors)
    return {
      summary: `configuration OK${report.notices.length ? ` (${report.notices.length} optional feature${report.notices.length > 1 ? 's' : ''} off)` : ''}`,
      data: { enabled: report.enabled, off: report.notices, envFile: ctx.loaded.config.envFile ?? null },
    }
  },
})
