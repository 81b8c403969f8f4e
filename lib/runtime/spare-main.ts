// Entry point of the background spare copy (see spare.ts):
//   node --import tsx lib/runtime/spare-main.ts '<SpareJob as JSON>'
// Exit 0 made or already there, 1 not made (the line on stderr says why). Stopping the server ends it.
import { describeSpareOutcome, makeSpareCopy, type SpareJob } from './spare.ts'

const job = JSON.parse(process.argv[2] ?? '{}') as SpareJob
makeSpareCopy(job).then(
  (outcome) => {
    process.stderr.write(`${describeSpareOutcome(job, outcome)}\n`)
    process.exit(0)
  },
  (error: unknown) => {
    process.stderr.write(`${describeSpareOutcome(job, { error })}\n`)
    process.exit(1)
  },
)
