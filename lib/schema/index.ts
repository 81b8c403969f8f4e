// validate-schema's engine: catches drift between production's schema (a snapshot) and the app's
// migrations, structurally from the catalogs. Tasks import from here.
//
//   validateSchema(opts): Promise<SchemaValidation>   builds and compares the schemas (see validate.ts)
//   formatValidation(v): string[]                     the readable report
//   readSchema(client) / compareSchemas(a, b)         the catalog reader and the comparison, on their own
export { validateSchema, type ValidateSchemaOptions, type SchemaValidation } from './validate.ts'
export { formatValidation, describeDifference } from './report.ts'
export { readSchema, objectKey, type SchemaModel, type SchemaObject, type ObjectKind, type AttributeValue } from './catalog.ts'
export { compareSchemas, differenceKey, groupOf, type SchemaDifference, type DifferenceChange, type DefinitionSide } from './compare.ts'
export { migrationStatus, type MigrationStatus, type AppliedMigration } from './migration-status.ts'
export { startScratchServer, type ScratchServer, type ScratchServerOptions } from './scratch-server.ts'
export { schemaOnly, isMigrationsTableCopy } from './schema-only.ts'
export { SchemaDriftError } from './errors.ts'
