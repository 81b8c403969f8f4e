// Every task the runner knows, in the order --help lists them.
import type { TaskDefinition } from '../lib/tasks/types.ts'
import envExample from './env-example.ts'
import validateEnv from './validate-env.ts'

export const tasks: readonly TaskDefinition[] = [validateEnv, envExample]
