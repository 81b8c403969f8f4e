import { RotvError } from '../errors.ts'
import type { ConfigProblem } from './load.ts'

/** One or more configuration problems: one line each, with its fix. Never carries a secret's value. */
export class ConfigInvalidError extends RotvError {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`${problems.length} configuration problem${problems.length > 1 ? 's' : ''} in .env or the environment`, {
      fix: 'edit .env (see .env.example for every variable), then run `npx tsx Taskfile.ts validate-env`',
      details: problems.map((p) => `${p.message} -> ${p.fix}`),
    })
  }
}
