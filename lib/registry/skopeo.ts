// The registry protocol is skopeo's job (Debian's skopeo 1.9): it copies an OCI layout directory to and
// from a registry with the same auth files (REGISTRY_AUTH_FILE, podman login, ~/.docker/config.json),
// certs.d directories and system CAs that podman uses, verifies every blob's digest as it arrives, and
// skips blobs the registry already holds. This module runs it and turns its failures into typed errors.
import { spawn } from 'node:child_process'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CancelledError } from '../errors.ts'
import {
  ArtifactDigestError,
  RegistryAuthError,
  RegistryCommandError,
  RegistryNotFoundError,
  RegistryTlsError,
  RegistryUnreachableError,
  SkopeoMissingError,
} from './errors.ts'
import type { RegistryReference } from './reference.ts'

/** How to reach a registry: what people already have for podman. */
export interface RegistryAccess {
  /** An auth file as podman login / docker login write it. Unset: skopeo's own lookup (REGISTRY_AUTH_FILE, then podman's and docker's). */
  authFile?: string
  /** false: plain HTTP or an unverified certificate (meant for a registry on loopback). Default true. */
  tlsVerify?: boolean
  /** A private CA's certificate (PEM), trusted in addition to the system CAs. */
  caFile?: string
}

export interface SkopeoCopyOptions {
  direction: 'push' | 'pull'
  /** The OCI layout directory and the tag inside it. */
  layoutDir: string
  layoutTag: string
  ref: RegistryReference
  access: RegistryAccess
  signal?: AbortSignal
  /** Each line skopeo prints ("Copying blob sha256:... "), as it prints it. */
  onLine?: (line: string) => void
  /** With it, skopeo runs with --debug and hands each debug message here (which blobs it skipped). */
  onDebug?: (msg: string) => void
  /** The skopeo binary. Default `skopeo` on PATH. */
  skopeoPath?: string
}

export async function skopeoCopy(opts: SkopeoCopyOptions): Promise<string[]> {
  const side = opts.direction === 'push' ? 'dest' : 'src'
  const layout = `oci:${opts.layoutDir}:${opts.layoutTag}`
  const remote = `docker://${opts.ref.text}`
  const args = [...(opts.onDebug ? ['--debug'] : []), 'copy', '--retry-times', '0']
  if (opts.access.authFile) args.push(`--${side}-authfile`, opts.access.authFile)
  if (opts.access.tlsVerify === false) args.push(`--${side}-tls-verify=false`)
  let certDir: string | undefined
  try {
    if (opts.access.caFile) {
      // skopeo takes a directory of *.crt files; the user names one file.
      certDir = await mkdtemp(join(tmpdir(), 'rotv-ca-'))
      await copyFile(opts.access.caFile, join(certDir, 'ca.crt')).catch((err) => {
        throw new RegistryTlsError(opts.ref.host, `cannot read REGISTRY_CA_FILE ${opts.access.caFile}: ${(err as Error).message}`)
      })
      args.push(`--${side}-cert-dir`, certDir)
    }
    args.push(...(opts.direction === 'push' ? [layout, remote] : [remote, layout]))
    return await run(opts, args)
  } finally {
    if (certDir) await rm(certDir, { recursive: true, force: true })
  }
}

function run(opts: SkopeoCopyOptions, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new CancelledError(`${opts.direction} cancelled`))
    // Its own process group: a Ctrl-C reaches us, and we stop skopeo (and only skopeo) through the signal.
    const child = spawn(opts.skopeoPath ?? 'skopeo', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const lines: string[] = []
    let stderr = ''
    let partial = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (s: string) => {
      partial += s
      const parts = partial.split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts.map((l) => l.trim()).filter(Boolean)) {
        lines.push(line)
        opts.onLine?.(line)
      }
    })
    let errPartial = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (s: string) => {
      errPartial += s
      const parts = errPartial.split('\n')
      errPartial = parts.pop() ?? ''
      for (const line of parts) {
        // Debug chatter is for onDebug only: the error text is built from what skopeo says without --debug.
        if (/level=debug/.test(line)) opts.onDebug?.(/msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line)
        else stderr = `${stderr}${line}\n`.slice(-16384)
      }
    })
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    opts.signal?.addEventListener('abort', kill, { once: true })
    child.once('error', (err) => {
      opts.signal?.removeEventListener('abort', kill)
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new SkopeoMissingError() : err)
    })
    child.once('close', (code) => {
      opts.signal?.removeEventListener('abort', kill)
      if (partial.trim()) lines.push(partial.trim())
      if (errPartial.trim() && !/level=debug/.test(errPartial)) stderr += errPartial
      if (opts.signal?.aborted) return reject(new CancelledError(`${opts.direction} of ${opts.ref.text} cancelled`))
      if (code === 0) return resolve(lines)
      reject(classify(opts, stderr.trim() || `skopeo exited with ${code}`))
    })
  })
}

/** skopeo's (containers/image's) messages, mapped to the cause a user can act on. */
export function classify(opts: Pick<SkopeoCopyOptions, 'direction' | 'ref'>, stderr: string): Error {
  const host = opts.ref.host
  const detail = lastMessage(stderr)
  const kept = opts.direction === 'push' ? 'the registry keeps what it had under that tag' : 'the local snapshot store was left as it was'
  if (/unauthorized|authentication required|401 Unauthorized|invalid username\/password|denied: requested access/i.test(stderr)) return new RegistryAuthError(host, detail)
  if (/server gave HTTP response to HTTPS client/i.test(stderr)) return new RegistryTlsError(host, 'the registry speaks plain HTTP')
  if (/x509|certificate|tls:/i.test(stderr)) return new RegistryTlsError(host, detail)
  if (/digest did not match|Digest did not match|digest mismatch|unexpected digest/i.test(stderr)) return new ArtifactDigestError(opts.ref.text, detail)
  if (/manifest unknown|name unknown|not found|no such image/i.test(stderr)) {
    if (opts.direction === 'pull') return new RegistryNotFoundError(opts.ref.text)
  }
  if (/connection refused|no such host|i\/o timeout|connection reset|EOF|broken pipe|timeout|network is unreachable|502|503|504/i.test(stderr)) {
    return new RegistryUnreachableError(host, detail, kept)
  }
  return new RegistryCommandError(`skopeo could not ${opts.direction === 'push' ? 'push to' : 'pull from'} ${opts.ref.text}: ${detail}`, {
    fix: `${kept}; run with --verbose, or try the same with: skopeo inspect docker://${opts.ref.text}`,
  })
}

function lastMessage(stderr: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? stderr
  // time="..." level=fatal msg="..." -> the msg
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1]?.replace(/\\"/g, '"') ?? line
  return msg.length > 400 ? `${msg.slice(0, 400)}...` : msg
}
