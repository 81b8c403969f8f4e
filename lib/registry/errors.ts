// Typed failures of registry transfers. Each names the cause and the fix; none carries a credential.
import { RotvError } from '../errors.ts'

export class InvalidReferenceError extends RotvError {
  constructor(ref: string, why: string) {
    super(`"${ref}" is not a registry reference: ${why}`, { fix: 'write it as HOST[:PORT]/REPOSITORY[:TAG], e.g. registry.example.com/team/rotv-snapshots:production' })
  }
}

export class SkopeoMissingError extends RotvError {
  constructor() {
    super('skopeo is not installed: it carries snapshots to and from registries', { fix: 'install it: apt-get install skopeo' })
  }
}

export class RegistryAuthError extends RotvError {
  constructor(host: string, detail: string) {
    super(`the registry ${host} refused the credentials (${detail})`, {
      fix: `log in (podman login ${host}), or point REGISTRY_AUTH_FILE at an auth file that holds a login for ${host}`,
    })
  }
}

export class RegistryTlsError extends RotvError {
  constructor(host: string, detail: string) {
    super(`TLS with the registry ${host} failed (${detail})`, {
      fix: `for a private CA set REGISTRY_CA_FILE to its certificate (PEM); for a plain-HTTP registry on loopback pass --tls-verify=false (or REGISTRY_TLS_VERIFY=false)`,
    })
  }
}

export class RegistryUnreachableError extends RotvError {
  constructor(host: string, detail: string, keptWhat: string) {
    super(`the registry ${host} did not answer or broke off the transfer (${detail})`, { fix: `check that the registry runs and the address is right; ${keptWhat}; run the command again` })
  }
}

export class RegistryNotFoundError extends RotvError {
  constructor(ref: string) {
    super(`the registry has no snapshot at ${ref}`, { fix: 'check the reference (repository and tag); the team pushes with: npx tsx Taskfile.ts snapshots push NAME REF' })
  }
}

export class ArtifactDigestError extends RotvError {
  constructor(ref: string, detail: string) {
    super(`the snapshot from ${ref} failed its digest check: ${detail}`, {
      fix: 'the store was left as it was; pull again, and if it repeats, push the snapshot again from the machine that has it',
    })
  }
}

export class NotASnapshotArtifactError extends RotvError {
  constructor(ref: string, detail: string) {
    super(`${ref} is not a rotv snapshot (${detail})`, { fix: 'pull a reference that `snapshots push` wrote' })
  }
}

export class RegistryCommandError extends RotvError {}
