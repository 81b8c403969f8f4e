// The registry protocol is skopeo's job (Debian's skopeo 1.9): it copies an OCI layout directory to and
// from a registry with the same auth files (REGISTRY_AUTH_FILE, podman login, ~/.docker/config.json),
// certs.d directories and system CAs that podman uses, verifies every blob's digest as it arrives, and
// skips blobs the registry already holds. This module runs it and turns its failures into typed errors.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CancelledError } from '../errors.ts'
import { run } from '../process/index.ts'
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
  /** Bytes moved so far (push: read from the layout; pull: written to it), about twice a second. */
  onBytes?: (bytes: number) => void
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
    return await runSkopeo(opts, args)
  } finally {
    if (certDir) await rm(certDir, { recursive: true, force: true })
  }
}

async function runSkopeo(opts: SkopeoCopyOptions, args: string[]): Promise<string[]> {
  const lines: string[] = []
  // Only what skopeo says without --debug goes into the error text; debug chatter is for onDebug.
  let stderr = ''
  const io = opts.onBytes ? new IoWatch(opts.direction === 'push' ? 'rchar' : 'wchar', opts.onBytes) : undefined
  try {
    const r = await run(opts.skopeoPath ?? 'skopeo', args, {
      signal: opts.signal,
      nothrow: true,
      maxBytes: 64 * 1024,
      onSpawn: (pid) => io?.watch(pid),
      onLine: (raw, stream) => {
        const line = raw.trim()
        if (!line) return
        if (stream === 'stdout') {
          lines.push(line)
          opts.onLine?.(line)
        } else if (/level=debug/.test(line)) opts.onDebug?.(/msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line)
        else stderr = `${stderr}${line}\n`.slice(-16384)
      },
    })
    if (r.spawnError === 'ENOENT') throw new SkopeoMissingError()
    if (r.ok) return lines
    throw classify(opts, stderr.trim() || `skopeo exited with ${r.exitCode ?? r.signal}`)
  } catch (err) {
    if (err instanceof CancelledError) throw new CancelledError(`${opts.direction} of ${opts.ref.text} cancelled`)
    throw err
  } finally {
    io?.stop()
  }
}

/**
 * Bytes a transfer has moved, from the kernel's count of what skopeo read (a push reads the blobs it
 * sends from the layout) or wrote (a pull writes the blobs it receives): skopeo prints no byte
 * progress when its output is not a terminal. Where /proc is missing, there is simply no byte count.
 */
class IoWatch {
  private timer: NodeJS.Timeout | undefined
  constructor(private readonly field: 'rchar' | 'wchar', private readonly onBytes: (bytes: number) => void) {}

  watch(pid: number): void {
    const file = `/proc/${pid}/io`
    let last = -1
    this.timer = setInterval(() => {
      readFile(file, 'utf8').then(
        (text) => {
          const n = Number(new RegExp(`^${this.field}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN)
          if (Number.isFinite(n) && n !== last && this.timer) this.onBytes((last = n))
        },
        () => {},
      )
    }, 500)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
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
