// The built-in transforms, as functions of (value) -> value, keyed by the project salt. Deterministic:
// the same input and salt give the same output in every pull, so joins, foreign keys and UNIQUE hold.
//
// Collisions: hash-email carries 80 bits of HMAC-SHA256 and hash 66+, so two of n inputs meet with
// probability ~n^2/2^81 resp. n^2/2^67 (1e-12 resp. 1e-8 for 1 M rows). fake-name/fake-phone draw from
// small pools and repeat by design; on a column marked { unique: true } they get a tag of 48 HMAC bits.
// For every unique column the stream also keeps the outputs it has seen and fails the pull on a repeat,
// so a collision can never produce a snapshot that does not import.
import { createHash, createHmac } from 'node:crypto'
import type { NormalizedColumnRule, NormalizedRules, TransformContext } from './rules.ts'

export type ValueTransform = (value: string | null) => string | null

export const ANON_EMAIL_DOMAIN = 'example.invalid'

export interface Keyed {
  /** HMAC-SHA256(salt, text) */
  hmac(text: string): Buffer
}

/**
 * HMAC-SHA256 keyed by the salt, with the key's inner and outer pads hashed once and copied per value:
 * the same result as createHmac, at a fraction of its per-call set-up cost (a pull may hash millions of
 * values).
 */
export function keyed(salt: string): Keyed {
  let key = Buffer.from(salt, 'utf8')
  if (key.length > 64) key = createHash('sha256').update(key).digest()
  const pad = (byte: number) => {
    const b = Buffer.alloc(64, byte)
    for (let i = 0; i < key.length; i++) b[i]! ^= key[i]!
    return createHash('sha256').update(b)
  }
  const inner = pad(0x36)
  const outer = pad(0x5c)
  return { hmac: (text) => outer.copy().update(inner.copy().update(text).digest()).digest() }
}

/** What identifies the salt in a manifest without revealing it (an HMAC of a fixed label, 64 bits). */
export function saltFingerprint(salt: string): string {
  return createHmac('sha256', salt).update('rotv-anonymize salt fingerprint').digest('hex').slice(0, 16)
}

export function hashEmail(k: Keyed, value: string): string {
  return `user-${k.hmac(`email\0${value}`).toString('hex').slice(0, 20)}@${ANON_EMAIL_DOMAIN}`
}

export function hashToken(k: Keyed, value: string): string {
  // Not keyed by the column: the same id in two tables (a foreign key) maps to the same token.
  const mac = k.hmac(`hash\0${value}`)
  if (/^[0-9]+$/.test(value)) {
    // All digits stay all digits (OAuth ids look numeric), at least 20 of them (66 bits): a short id kept
    // at its own length would collide in a unique column (10^6 values for a 6-digit id).
    const length = Math.max(value.length, 20)
    let digits = ''
    for (let i = 0; digits.length < length; i++) digits += mac.readUInt32BE((i % 8) * 4).toString().padStart(10, '0')
    return digits.slice(0, length)
  }
  return mac.toString('hex').slice(0, 32)
}

// Disjoint from the demo data's (and most fixtures') names, so a found name is never an original one.
const FIRST = ['Avery', 'Blake', 'Casey', 'Dana', 'Emerson', 'Finley', 'Harper', 'Jordan', 'Kendall', 'Logan', 'Morgan', 'Parker', 'Quinn', 'Reese', 'Riley', 'Rowan', 'Sage', 'Skyler', 'Taylor', 'Wren', 'Marlo', 'Ellis', 'Arden', 'Lennox']
const LAST = ['Ashby', 'Birchwood', 'Calloway', 'Dunmore', 'Ellery', 'Fairbanks', 'Glenwood', 'Hollis', 'Ingleby', 'Juniper', 'Kestrel', 'Lindqvist', 'Marlowe', 'Northcott', 'Oakhurst', 'Pemberton', 'Quarrington', 'Redfern', 'Sterling', 'Thorne', 'Underhill', 'Vantongeren', 'Whitlock', 'Yardley']

export function fakeName(k: Keyed, value: string, unique: boolean): string {
  const mac = k.hmac(`name\0${value}`)
  const name = `${FIRST[mac.readUInt16BE(0) % FIRST.length]} ${LAST[mac.readUInt16BE(2) % LAST.length]}`
  return unique ? `${name} ${mac.subarray(4, 10).toString('hex')}` : name
}

export function fakePhone(k: Keyed, value: string, unique: boolean): string {
  const mac = k.hmac(`phone\0${value}`)
  const phone = `+1 555 01${String(mac.readUInt16BE(0) % 100).padStart(2, '0')}`
  return unique ? `${phone} ext. ${mac.readUIntBE(2, 6).toString().padStart(15, '0')}` : phone
}

/** The dev password's hash, made once per pull with a salt derived from the project salt (deterministic). */
export function devPasswordHash(k: Keyed, rules: NormalizedRules): string {
  return rules.passwordHash(rules.devPassword, k.hmac('dev-password salt').subarray(0, 16))
}

export function columnTransform(k: Keyed, rules: NormalizedRules, table: string, column: string, rule: NormalizedColumnRule, devHash: () => string): ValueTransform | 'keep' {
  const t = rule.transform
  if (typeof t === 'function') {
    const ctx: TransformContext = { table, column, hash: (text) => k.hmac(`custom\0${table}.${column}\0${text}`).toString('hex') }
    return (v) => t(v, ctx)
  }
  switch (t) {
    case 'keep':
      return 'keep'
    case 'null':
      return () => null
    case 'empty':
      return (v) => (v === null ? null : '')
    case 'password':
      return () => devHash()
    case 'hash-email':
      return (v) => (v === null ? null : hashEmail(k, v))
    case 'hash':
      return (v) => (v === null ? null : hashToken(k, v))
    case 'fake-name':
      return (v) => (v === null ? null : fakeName(k, v, rule.unique))
    case 'fake-phone':
      return (v) => (v === null ? null : fakePhone(k, v, rule.unique))
  }
}
