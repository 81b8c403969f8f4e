// The two figures reported per case. Median rather than mean: on a shared machine one repetition can
// be slowed by a neighbour, and the median ignores it where the mean would not.
export function min(values: number[]): number {
  return values.length ? Math.min(...values) : NaN
}

export function median(values: number[]): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
