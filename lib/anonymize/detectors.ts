// Free-text detectors: personal data inside text (a news body, a log line, a JSON document), found by
// its shape rather than by its column. Each match is replaced by a deterministic fake of the same kind,
// keyed by the salt like the column transforms, so the same address in a column and in a text becomes
// the same fake, and text that is already fake (example.invalid, 192.0.2.x, +1 555 01xx) is left alone.
import { fakePhone, hashEmail, type Keyed } from './transforms.ts'

export type DetectorName = 'email' | 'phone' | 'ip' | 'url-credentials' | 'token'

export const DETECTORS: readonly DetectorName[] = ['email', 'phone', 'ip', 'url-credentials', 'token']

export type DetectionCounts = Partial<Record<DetectorName, number>>

export interface FreeTextResult {
  text: string
  /** Matches replaced, per detector; undefined when nothing matched. */
  hits?: DetectionCounts
}

export type FreeTextTransform = (text: string) => FreeTextResult

// One alternation, so a text is walked once; the order settles overlaps at one position (a URL's
// user:password@ before the e-mail that its host part would also look like).
const PATTERNS: [string, DetectorName | 'qtoken' | 'bearer' | 'jwt' | 'ip6'][] = [
  ['(?<url>\\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?<userinfo>[^\\s/:@\'"<>]+:[^\\s/@\'"<>]+)@', 'url-credentials'],
  ['(?<qkey>[?&;](?:access_token|refresh_token|id_token|token|api_?key|apikey|key|secret|password|passwd|sig|signature|auth|code|session|sid|jwt)=)(?<qval>[^\\s&#\'"<>]{6,})', 'qtoken'],
  ['(?<jwt>\\beyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,})', 'jwt'],
  ['(?<bkey>\\b(?:Bearer|bearer|BEARER|Token|token)\\s+)(?<bval>[A-Za-z0-9._~+/-]{16,}=*)', 'bearer'],
  ['(?<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,})', 'email'],
  ['(?<ip4>\\b(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\b)', 'ip'],
  ['(?<ip6>(?<![0-9A-Fa-f:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4})(?![0-9A-Fa-f:]))', 'ip6'],
  ['(?<phone>(?<![\\w+])(?:\\+\\d{1,3}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{2,4}(?:[ .-]\\d{2,4}){1,4}|\\(\\d{3}\\)[ .-]?\\d{3}[ .-]\\d{4}|\\d{3}[.-]\\d{3}[.-]\\d{4})(?![\\w]))', 'phone'],
]

/** Detects and replaces; `enabled` picks the detectors (default all). Pure: memoize freely. */
export function freeTextTransform(k: Keyed, enabled: readonly DetectorName[] = DETECTORS): FreeTextTransform {
  const on = new Set(enabled)
  const kinds = PATTERNS.filter(([, kind]) => on.has(detectorOf(kind)))
  if (kinds.length === 0) return (text) => ({ text })
  const re = new RegExp(kinds.map(([p]) => p).join('|'), 'g')
  return (text) => {
    // Every pattern needs one of these characters: most text has none and costs one scan.
    if (!QUICK.test(text)) return { text }
    let hits: DetectionCounts | undefined
    const count = (d: DetectorName) => {
      hits ??= {}
      hits[d] = (hits[d] ?? 0) + 1
    }
    const out = text.replace(re, (whole: string, ...args: unknown[]) => {
      const g = args[args.length - 1] as Record<string, string | undefined>
      if (g.userinfo !== undefined) {
        if (g.userinfo.includes(`:${FAKE}`)) return whole
        count('url-credentials')
        const mac = k.hmac(`url-userinfo\0${g.userinfo}`).toString('hex')
        return `${g.url}user-${mac.slice(0, 8)}:${FAKE}${mac.slice(8, 24)}@`
      }
      if (g.qval !== undefined) {
        if (g.qval.startsWith(FAKE)) return whole
        count('url-credentials')
        return `${g.qkey}${FAKE}${k.hmac(`token\0${g.qval}`).toString('hex').slice(0, 32)}`
      }
      if (g.jwt !== undefined) {
        if (g.jwt.startsWith(FAKE_JWT)) return whole
        count('token')
        const mac = k.hmac(`jwt\0${g.jwt}`)
        return `${FAKE_JWT}${mac.subarray(0, 16).toString('base64url')}.${mac.subarray(16).toString('base64url')}`
      }
      if (g.bval !== undefined) {
        if (g.bval.startsWith(FAKE)) return whole
        count('token')
        return `${g.bkey}${FAKE}${k.hmac(`token\0${g.bval}`).toString('hex').slice(0, 32)}`
      }
      if (g.email !== undefined) {
        if (/@example\.invalid$/i.test(whole)) return whole // already a fake
        count('email')
        return hashEmail(k, whole)
      }
      if (g.ip4 !== undefined) {
        // Documentation, private, loopback and link-local ranges name machines, not people.
        if (/^(192\.0\.2|198\.51\.100|203\.0\.113|10|127|169\.254|192\.168|172\.(1[6-9]|2\d|3[01]))\./.test(whole) || /^\d+\.0\.0\.0$/.test(whole)) return whole
        count('ip')
        const mac = k.hmac(`ip\0${whole}`)
        return `${TEST_NETS[mac[0]! % 3]}.${1 + (mac[1]! % 254)}`
      }
      if (g.ip6 !== undefined) {
        if (/^2001:db8:/i.test(whole) || !/[:][0-9a-f]*[:]|^([0-9a-f]{1,4}:){7}/i.test(whole)) return whole
        count('ip')
        return `2001:db8::${k.hmac(`ip\0${whole.toLowerCase()}`).readUInt16BE(0).toString(16)}`
      }
      if (g.phone !== undefined) {
        if (/^\+1 555 01\d\d/.test(whole) || (whole.match(/\d/g)?.length ?? 0) < 7) return whole
        count('phone')
        return fakePhone(k, whole.replace(/[^\d+]/g, ''), false)
      }
      return whole
    })
    return hits ? { text: out, hits } : { text }
  }
}

const QUICK = /[@:.\d]/
/** Marks a fake secret, so a later scan does not count it as a finding. */
const FAKE = 'anon_'
/** {"alg":"none"}: a fake JWT's header. */
const FAKE_JWT = 'eyJhbGciOiJub25lIn0.'
const TEST_NETS = ['192.0.2', '198.51.100', '203.0.113']

function detectorOf(kind: string): DetectorName {
  if (kind === 'qtoken') return 'url-credentials'
  if (kind === 'bearer' || kind === 'jwt') return 'token'
  if (kind === 'ip6') return 'ip'
  return kind as DetectorName
}
