// .env.example is generated from the variable table (the engine's and the project file's), so it
// documents every variable the runner and the app read.
// Variables with a default are shown commented out with that default; variables a user must fill in are
// uncommented placeholders, which validate-env recognises if they are copied unchanged.
import { GROUP_TITLES, VARIABLES, type VariableSpec } from './variables.ts'

/** `variables`: LoadedConfig.variables (default: the engine's alone, for a project that declares none). */
export function renderEnvExample(variables: readonly VariableSpec[] = VARIABLES): string {
  const out: string[] = [
    '# Configuration for the task runner and the app. Copy to .env (never committed) and fill in what you use:',
    '#   cp .env.example .env',
    '# Precedence: defaults < .env < process environment. Values may be quoted: NAME="a value # with hash".',
    '# A line still equal to its placeholder below is reported by `npx tsx Taskfile.ts validate-env`.',
    '# Lines starting with # show the default; uncomment to change it.',
  ]
  const groups = [...new Set(variables.map((v) => v.group))]
  for (const group of groups) {
    out.push('', `# --- ${(GROUP_TITLES as Record<string, string>)[group] ?? group}`)
    for (const v of variables.filter((x) => x.group === group)) {
      const form = v.kind === 'enum' ? ` One of: ${v.values?.join(', ')}.` : ''
      out.push(`# ${v.description}.${form}`.replace(/\.\.$/, '.'))
      if (v.placeholder !== undefined) out.push(`${v.name}=${quote(v.placeholder)}`)
      else out.push(`# ${v.name}=${v.default !== undefined ? quote(v.default) : ''}`)
    }
  }
  out.push(
    '',
    '# --- More environments: list them in SEED_ENVIRONMENTS (e.g. production,staging), then set',
    '# STAGING_HOST, STAGING_PORT, STAGING_USER, STAGING_CONTAINER, STAGING_ENGINE, STAGING_DB_NAME,',
    '# STAGING_DB_USER, STAGING_DATABASE_URL or STAGING_SOURCE as for PRODUCTION_*; `seed staging` pulls it.',
    '',
  )
  return out.join('\n')
}

function quote(value: string): string {
  return /[\s#"'=]/.test(value) ? `"${value}"` : value
}
