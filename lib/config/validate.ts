// What validate-env decides: which configuration problems stop the run, and which optional features are
// off (with how to turn them on). Set-but-wrong values are always errors; what is required depends on what
// the configuration asks for (a source kind needs its settings, production mode needs a session secret).
import { existsSync } from 'node:fs'
import type { ConfigProblem, LoadedConfig } from './load.ts'

export interface EnvironmentReport {
  errors: ConfigProblem[]
  /** Optional features that are off, each with how to turn it on. */
  notices: string[]
  /** What is on, for the summary. */
  enabled: string[]
}

export function validateEnvironment(loaded: LoadedConfig): EnvironmentReport {
  const { config, values } = loaded
  const errors = [...loaded.problems]
  const notices: string[] = []
  const enabled: string[] = []
  const has = (name: string) => values.has(name) && !errors.some((e) => e.variable === name)
  const missing = (variable: string, why: string, fix: string) =>
    errors.push({ variable, kind: 'missing', message: `${variable} is missing: ${why}`, fix })

  if (!config.envFile) notices.push('No .env file: using defaults and the process environment (`cp .env.example .env` to configure)')

  // Sources: a kind that was asked for needs its settings.
  for (const source of Object.values(config.seed.sources)) {
    if (source.kind === 'demo' || !source.prefix) continue
    const p = source.prefix
    const kindVar = p === 'PRODUCTION_' && values.has('SEED_SOURCE') ? 'SEED_SOURCE' : `${p}SOURCE`
    const why = (need: string) => `${kindVar === 'SEED_SOURCE' || values.has(kindVar) ? `${kindVar}=${source.kind}` : `the ${source.name} source (${source.kind})`} needs ${need}`
    if ((source.kind === 'ssh+podman' || source.kind === 'ssh') && !source.host && !errors.some((e) => e.variable === `${p}HOST`)) {
      missing(`${p}HOST`, why('an SSH host'), `set ${p}HOST in .env to the server's host name or ~/.ssh/config alias`)
    }
    if (source.kind === 'url' && !source.url && !errors.some((e) => e.variable === `${p}DATABASE_URL`)) {
      missing(`${p}DATABASE_URL`, why('a postgres:// URL'), `set ${p}DATABASE_URL in .env`)
    }
    if (source.kind === 'registry' && !source.registry && !errors.some((e) => e.variable === `${p}REGISTRY`)) {
      missing(`${p}REGISTRY`, why('an OCI reference'), `set ${p}REGISTRY in .env to the team's snapshot, e.g. registry.example.com/team/rotv-snapshots:${source.name}`)
    }
    if (source.kind === 'file') {
      const fileVar = p === 'PRODUCTION_' ? 'SEED_FILE' : `${p}FILE`
      if (!source.file) missing(fileVar, why('a dump file'), `set ${fileVar} to a .sql, .sql.gz or .sql.br file`)
      else if (!existsSync(source.file)) {
        errors.push({ variable: fileVar, kind: 'malformed', message: `${fileVar} names a file that does not exist: ${source.file}`, fix: `check the path in ${fileVar}` })
      }
    }
  }
  const production = Object.values(config.seed.sources).find((s) => s.kind !== 'demo')
  if (production) enabled.push(`Snapshot source: ${production.name} (${production.kind}${production.host ? ` via ${production.host}` : ''})`)
  else if (!errors.some((e) => e.variable.startsWith('PRODUCTION_') || e.variable.startsWith('SEED_'))) {
    notices.push(
      'Production source: not configured; `start` and `seed` use the bundled demo data (set PRODUCTION_HOST, or PRODUCTION_DATABASE_URL, in .env to pull real data)',
    )
  }

  // Anonymized pulls are keyed by a per-project salt that lives only in .env.
  if (values.get('ANONYMIZE')?.value && /^(1|true|yes|on)$/i.test(values.get('ANONYMIZE')!.value) && !has('ANONYMIZE_SALT') && !errors.some((e) => e.variable === 'ANONYMIZE_SALT')) {
    missing('ANONYMIZE_SALT', 'ANONYMIZE=true needs a per-project salt', 'set ANONYMIZE_SALT in .env; generate one with: openssl rand -hex 32')
  }

  // The app's own variables, as its project file declares them: required ones, pairs, and what each turns on.
  const taken = (name: string) => errors.some((e) => e.variable === name)
  for (const v of config.project.variables ?? []) {
    if (has(v.name)) {
      for (const other of v.with ?? []) {
        if (!has(other) && !taken(other)) missing(other, `${v.name} is set, and it needs ${other} too`, `set ${other}, or remove ${v.name}`)
      }
      if (v.whenSet && (v.with ?? []).every(has)) enabled.push(v.whenSet.replace('{value}', v.secret ? '(set)' : values.get(v.name)!.value))
      continue
    }
    if (taken(v.name)) continue
    const required = v.required === 'always' || (v.required === 'persistent' && config.persistentData)
    if (required) {
      const why = v.requiredWhy ?? (v.required === 'persistent' ? 'PERSISTENT_DATA=true (production) needs it' : 'the app needs it')
      missing(v.name, why, v.fix ?? `set ${v.name} in .env (${v.description.split(/[.;(]/)[0]!.trim()})`)
    } else if (v.whenUnset && !(v.with ?? []).some((o) => has(o) || taken(o))) notices.push(v.whenUnset)
  }

  enabled.push(
    config.persistentData
      ? `Storage: persistent in ${config.dataDir}`
      : `Storage: in-memory (clean slate on every start), limit TMPFS_SIZE=${values.get('TMPFS_SIZE')?.value ?? '2G'}`,
  )
  return { errors: dedupe(errors), notices, enabled }
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${p.variable}:${p.kind}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
