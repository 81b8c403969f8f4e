// The engine's public entry: what a project file and an app's own scripts import.
export { defineProject } from './project/define.ts'
export type { AppDefinition, MigrationsDefinition, ProjectDefinition, ProjectVariable, Readiness, ReadyLine } from './project/define.ts'
export { defineAnonymizeRules } from './anonymize/rules.ts'
