// Small text helpers shared by the task modules' titles and summaries.
import type { ProjectDefinition } from '../lib/project/define.ts'
import { countsText } from '../lib/runtime/readiness.ts'

export function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

/** The ready line from a health answer's counts, labelled as the project file's readyLine says. */
export function countsLine(counts: Record<string, number> | undefined, project: ProjectDefinition): string | undefined {
  const line = project.app?.readyLine
  if (!counts || !line || !('healthField' in line)) return undefined
  return countsText(counts, line.labels)
}

/** "ready at URL: 371 POIs, ..." or just "ready at URL" when the project declares no ready line. */
export function withLine(head: string, line: string | undefined): string {
  return line ? `${head}: ${line}` : head
}
