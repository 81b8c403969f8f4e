// The script cron or systemd runs: everything the refresh needs that the scheduler's environment lacks
// (no TTY, PATH=/usr/bin:/bin, another working directory) is written into it, except secrets, which the
// refresh reads from the project's .env as every other command does.
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface JobSpec {
  /** The project root (where Taskfile.ts is): the job runs there. */
  root: string
  /** Absolute paths: the node binary and tsx's CLI, so no PATH lookup decides which node runs. */
  node: string
  tsxCli: string
  environment: string
  /** An env file other than the project's .env (the CLI's --dotenv), as an absolute path. */
  envFile?: string
  /** Non-secret settings this shell had in its environment (ROTV_HOME, PATH, ...), exported by the job. */
  env: Record<string, string>
  log: string
}

/** Keep one older log beside the current one. */
const LOG_KEEP_BYTES = 4 * 1024 * 1024

export async function writeJobScript(path: string, spec: JobSpec): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, jobScript(spec), { mode: 0o700 })
  await chmod(tmp, 0o700)
  await rename(tmp, path)
}

export function jobScript(s: JobSpec): string {
  const exports = Object.entries(s.env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${sh(v)}`)
  const args = [...(s.envFile ? ['--dotenv', s.envFile] : []), 'schedule', 'run', s.environment]
  return [
    '#!/bin/sh',
    '# The scheduled refresh of this data home, written by `npx tsx Taskfile.ts schedule install`.',
    '# Edit with `schedule install` (again) or `schedule remove`; secrets come from the project\'s .env.',
    ...exports,
    `log=${sh(s.log)}`,
    `if [ "$(stat -c %s "$log" 2>/dev/null || echo 0)" -gt ${LOG_KEEP_BYTES} ]; then mv -f "$log" "$log.1"; fi`,
    `cd ${sh(s.root)} || { echo "$(date -u +%FT%TZ) the project folder ${s.root.replace(/["`$\\]/g, '')} is gone: schedule remove" >>"$log"; exit 1; }`,
    `echo "--- $(date -u +%FT%TZ) scheduled refresh of ${s.environment.replace(/["`$\\]/g, '')}" >>"$log"`,
    `exec ${[s.node, s.tsxCli, 'Taskfile.ts', ...args].map(sh).join(' ')} >>"$log" 2>&1 </dev/null`,
    '',
  ].join('\n')
}

function sh(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`
}
