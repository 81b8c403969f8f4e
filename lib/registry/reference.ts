// An OCI reference as the CLI takes it: HOST[:PORT]/REPOSITORY[:TAG]. The host is required (no implicit
// docker.io): a snapshot must never go to a public registry by accident.
import { InvalidReferenceError } from './errors.ts'

export interface RegistryReference {
  /** registry.example.com:5000 */
  host: string
  /** team/rotv-snapshots */
  repository: string
  tag: string
  /** host/repository:tag */
  text: string
}

const HOST_RE = /^(localhost|\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/i
const REPO_RE = /^[a-z0-9]+([._-]+[a-z0-9]+|__[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

export function parseReference(ref: string): RegistryReference {
  const text = ref.trim().replace(/^docker:\/\//, '')
  if (!text) throw new InvalidReferenceError(ref, 'it is empty')
  if (text.includes('@')) throw new InvalidReferenceError(ref, 'digest references are not supported; use a tag')
  const slash = text.indexOf('/')
  if (slash < 0) throw new InvalidReferenceError(ref, 'it names no registry host')
  const host = text.slice(0, slash)
  if (!HOST_RE.test(host) || !(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new InvalidReferenceError(ref, `"${host}" is not a registry host (a host name with a dot or a port, or localhost)`)
  }
  let rest = text.slice(slash + 1)
  let tag = 'latest'
  const colon = rest.lastIndexOf(':')
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
  }
  if (!REPO_RE.test(rest)) throw new InvalidReferenceError(ref, `"${rest}" is not a repository name (lower-case, digits, . _ - and /)`)
  if (!TAG_RE.test(tag)) throw new InvalidReferenceError(ref, `"${tag}" is not a tag`)
  return { host, repository: rest, tag, text: `${host}/${rest}:${tag}` }
}
