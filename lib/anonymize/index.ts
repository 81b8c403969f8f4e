// Anonymized snapshots: rules (anonymize.config.ts) + a per-project salt turn a pg_dump stream into one
// without personal data, in flight, before anything reaches the disk.
export { defineAnonymizeRules, normalizeRules, type AnonymizeRules, type NormalizedRules, type TableRule, type ColumnRule, type ColumnRuleObject, type TransformName, type CustomTransform, type TransformContext } from './rules.ts'
export { AnonymizeStream, MIN_SALT_LENGTH, type AnonymizeSettings, type AnonymizationRecord } from './stream.ts'
export { loadAnonymizeRules, type LoadedRules } from './load-rules.ts'
export { anonymizeSettings, type AnonymizeChoice } from './from-config.ts'
export { hashEmail, hashToken, fakeName, fakePhone, keyed, saltFingerprint, ANON_EMAIL_DOMAIN } from './transforms.ts'
export { parseCopyHeader, decodeField, encodeField, type CopyHeader } from './copy-text.ts'
export { looksPersonal } from './personal.ts'
export { measureAnonymizeThroughput, type ThroughputResult } from './throughput.ts'
export * from './errors.ts'
export { assertMayLeave, unruledColumns, type EgressOptions, type EgressVerdict, type UnruledColumns } from './egress.ts'
