// The app's self-describing password hash format, `scrypt$N$r$p$salt$key` (salt and key base64), made
// here with a salt derived from the seed so the demo dump stays deterministic. app/server/passwords.js
// verifies the same format; test/app.test.ts logs in with DEMO_LOGIN to prove the two agree.
import { scryptSync } from 'node:crypto'

export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1, keylen: 64 } as const

export function hashPasswordWithSalt(password: string, salt: Buffer): string {
  const { N, r, p, keylen } = SCRYPT_PARAMS
  const key = scryptSync(password.normalize('NFKC'), salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 })
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`
}
