// Team sharing through an OCI registry: push a snapshot (with its warm cluster), pull it as a source.
export { pushSnapshot, LAYOUT_TAG, type PushOptions, type PushResult } from './push.ts'
export { registrySource, type RegistrySource, type RegistryPullReport } from './source.ts'
export { parseReference, type RegistryReference } from './reference.ts'
export type { RegistryAccess } from './skopeo.ts'
export { MEDIA_TYPES, type ArtifactConfig, type ClusterInfo } from './layout.ts'
export * from './errors.ts'
