// Every task the runner knows, in the order --help lists them.
import type { TaskDefinition } from '../lib/tasks/types.ts'
import build from './build.ts'
import bumpVersion from './bump-version.ts'
import envExample from './env-example.ts'
import logs from './logs.ts'
import reset from './reset.ts'
import seedFresh from './seed-fresh.ts'
import seed from './seed.ts'
import snapshots from './snapshots.ts'
import start from './start.ts'
import status from './status.ts'
import stop from './stop.ts'
import validateEnv from './validate-env.ts'
import validateSchema from './validate-schema.ts'
import schedule from './schedule.ts'
import testDb from './test-db.ts'

export const tasks: readonly TaskDefinition[] = [start, stop, status, reset, logs, seed, seedFresh, snapshots, schedule, testDb, build, bumpVersion, validateEnv, validateSchema, envExample]
