// Entry point: npx tsx Taskfile.ts <task> [args]   (npx tsx Taskfile.ts --help lists the tasks)
import { runCli } from './lib/cli/main.ts'
import { tasks } from './tasks/index.ts'

const code = await runCli({
  root: import.meta.dirname,
  tasks,
  argv: process.argv.slice(2),
  about: 'rotv-dev: the Roots of The Valley app on a throwaway PostgreSQL loaded with a fresh production snapshot',
})
process.exit(code)
