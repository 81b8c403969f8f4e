// Password hashes in a self-describing format, `scrypt$N$r$p$salt$key` (salt and key base64), so the
// cost parameters can change later without breaking stored hashes. lib/demo/password.ts writes the same.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const PARAMS = { N: 16384, r: 8, p: 1, keylen: 64 }

/** @param {string} password @returns {Promise<string>} */
export async function hashPassword(password) {
  const salt = randomBytes(16)
  const key = await derive(password, salt, PARAMS)
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** @param {string} password @param {string | null | undefined} stored @returns {Promise<boolean>} */
export async function verifyPassword(password, stored) {
  const parts = typeof stored === 'string' ? stored.split('$') : []
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number)
  const salt = Buffer.from(parts[4], 'base64')
  const expected = Buffer.from(parts[5], 'base64')
  if (!N || !r || !p || expected.length < 16 || N > 1 << 20) return false
  const key = await derive(password, salt, { N, r, p, keylen: expected.length })
  return timingSafeEqual(key, expected)
}

function derive(password, salt, { N, r, p, keylen }) {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keylen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}
