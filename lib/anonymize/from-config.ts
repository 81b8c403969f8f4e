// Whether a pull anonymizes, and with what: ANONYMIZE / ANONYMIZE_SALT / ANONYMIZE_STRICT from the loaded
// configuration, overridden by the task's --anonymize / --no-anonymize / --strict.
import type { LoadedConfig } from '../config/load.ts'
import { loadAnonymizeRules } from './load-rules.ts'
import { MissingAnonymizeSaltError } from './errors.ts'
import { MIN_SALT_LENGTH, type AnonymizeSettings } from './stream.ts'

export interface AnonymizeChoice {
  /** true/false from the command line; undefined leaves it to ANONYMIZE. */
  anonymize?: boolean
  strict?: boolean
  /** A rules file other than anonymize.config.ts. */
  rulesFile?: string
}

/** undefined when anonymization is off; throws MissingAnonymizeSaltError when on without a salt. */
export async function anonymizeSettings(root: string, loaded: LoadedConfig, choice: AnonymizeChoice = {}): Promise<AnonymizeSettings | undefined> {
  const value = (name: string) => loaded.values.get(name)?.value
  const on = choice.anonymize ?? isTrue(value('ANONYMIZE'))
  if (!on) return undefined
  const salt = value('ANONYMIZE_SALT')
  if (!salt || salt.length < MIN_SALT_LENGTH) throw new MissingAnonymizeSaltError(MIN_SALT_LENGTH)
  const { rules, origin } = await loadAnonymizeRules(root, choice.rulesFile)
  return { rules, salt, strict: choice.strict ?? isTrue(value('ANONYMIZE_STRICT')), rulesOrigin: origin }
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim())
}
