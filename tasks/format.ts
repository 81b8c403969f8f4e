// Small text helpers shared by the task modules' titles and summaries.
export function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

/** "371 POIs, 647 news, 680 events" from the health endpoint's counts. */
export function countsLine(counts: Record<string, number> | undefined): string {
  if (!counts) return 'no counts'
  const parts: string[] = []
  if (counts.pois !== undefined) parts.push(`${counts.pois} POIs`)
  if (counts.destinations !== undefined) parts.push(`${counts.destinations} destinations`)
  if (counts.news !== undefined) parts.push(`${counts.news} news`)
  if (counts.events !== undefined) parts.push(`${counts.events} events`)
  if (counts.users !== undefined) parts.push(`${counts.users} users`)
  return parts.join(', ')
}
