// A small seeded PRNG (mulberry32): the same seed gives the same sequence on every machine and Node
// version, which is what makes the demo dump byte-identical across runs.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  chance(p: number): boolean
  /** `n` characters from `alphabet`. */
  chars(n: number, alphabet: string): string
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return {
    next,
    int,
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
    chars: (n: number, alphabet: string) => {
      let s = ''
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)]
      return s
    },
  }
}

/** An independent stream per table, so one table's size never shifts another table's content. */
export function streamFor(seed: number, name: string): Rng {
  let h = 2166136261
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619)
  return mulberry32((seed ^ h) >>> 0)
}
