// Case 6 placeholder (filled in below once the container runtime is checked).
import type { Cleanup } from '../cleanup.ts'
import type { CaseResult } from '../types.ts'
import type { StoredSnapshot } from './host.ts'

export interface ContainerCaseOptions {
  repoRoot: string
  repeat: number
  cleanup: Cleanup
  log: (m: string) => void
  snapshot?: StoredSnapshot
}

export async function runContainerCases(_opts: ContainerCaseOptions): Promise<CaseResult[]> {
  return [{ id: 'container:full-build', label: 'container', status: 'skipped', reason: 'not implemented yet', samples: [] }]
}
