// Loads the project's rules file (anonymize.config.ts, a TypeScript module run by tsx) and normalizes it.
import { existsSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { AnonymizeRulesNotFoundError, RULES_FILE } from './errors.ts'
import { normalizeRules, type AnonymizeRules, type NormalizedRules } from './rules.ts'

export interface LoadedRules {
  rules: NormalizedRules
  /** The file, relative to the project root when inside it. */
  origin: string
}

export async function loadAnonymizeRules(root: string, file: string = RULES_FILE): Promise<LoadedRules> {
  const path = isAbsolute(file) ? file : resolve(root, file)
  if (!existsSync(path)) throw new AnonymizeRulesNotFoundError(path)
  let mod: { default?: AnonymizeRules }
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: AnonymizeRules }
  } catch (err) {
    throw new AnonymizeRulesNotFoundError(path, err)
  }
  const rel = relative(root, path)
  const origin = rel.startsWith('..') ? path : rel
  if (!mod.default) throw new AnonymizeRulesNotFoundError(path, new Error('it has no default export'))
  return { rules: normalizeRules(mod.default, origin), origin }
}
