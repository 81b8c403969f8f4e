import { join } from 'node:path'
import { openStore } from '../lib/snapshots/index.ts'
import { hostSettings, snapshotHandle, snapshotName } from '../lib/runtime/from-config.ts'
import { formatValidation, SchemaDriftError, validateSchema } from '../lib/schema/index.ts'
import { RotvError } from '../lib/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'

export default defineTask({
  name: 'validate-schema',
  description: 'Compare production\'s schema (a snapshot) with what the migrations build: drift fails, pending migrations are listed',
  dependsOn: ['validate-env'],
  args: [{ name: 'snapshot', description: 'snapshot to check (default: SNAPSHOT, else the configured source\'s)' }],
  options: [
    { name: 'warn-only', type: 'flag', description: 'report drift as a warning and exit 0' },
    { name: 'with-data', type: 'flag', description: 'import the snapshot\'s table data too (slower; the schema does not depend on it)' },
  ],
  examples: [
    'npx tsx Taskfile.ts seed && npx tsx Taskfile.ts validate-schema     # before deploying migrations',
    'npx tsx Taskfile.ts validate-schema prod-2026-01',
    'npx tsx Taskfile.ts validate-schema --json --warn-only | jq \'.tasks[-1].result.drift\'',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const inv = ctx.invocations.get('validate-schema')
    const name = snapshotName(config, inv?.args.snapshot as string | undefined)
    const step = hostSettings(config).migrations
    if (step?.kind !== 'sql') {
      throw new RotvError('validate-schema checks a folder of SQL migrations, and this project declares none', {
        fix: "declare migrations: { sql: 'FOLDER' } in the project file, or check the app's own migrator against the snapshot with `start --db-only` and its command",
      })
    }
    const snapshot = await snapshotHandle(openStore(config.dataHome), name)
    const result = await validateSchema({
      snapshot,
      migrationsDir: step.dir,
      pgBinDir: config.pgBinDir,
      runAs: config.pgRunAs,
      withData: Boolean(inv?.options['with-data']),
      limitBytes: config.tmpfsSizeBytes,
      signal: ctx.signal,
      onProgress: (m) => io.progress(m),
      onScratchServer: (s) => io.log(`throwaway PostgreSQL on port ${s.port} in ${s.dir} (removed when done)`),
    })
    // The bundled demo data was never anyone's production: the report says so instead.
    const side = (await openStore(config.dataHome).get(name))?.source.kind === 'demo' ? 'the demo data' : 'production'
    const lines = formatValidation(result, side)
    const pending = result.migrations.pending.length
    const summary = result.ok
      ? `snapshot "${name}" matches the migrations${pending ? ` once the ${pending} pending migration${pending === 1 ? ' is' : 's are'} applied` : ''}`
      : `snapshot "${name}": ${result.drift.length} schema difference${result.drift.length === 1 ? '' : 's'} the migrations do not explain` +
        `${result.migrations.missingFromRepository.length ? `, ${result.migrations.missingFromRepository.length} applied migration(s) missing from the repository` : ''}` +
        `${result.pendingFailure ? ', and a pending migration fails on it' : ''}`
    for (const c of result.migrations.changedSinceApplied) io.warn(`${c.id} changed after ${side} applied it; the change never runs there: put it in a new migration`)
    if (result.ok || inv?.options['warn-only']) {
      for (const l of lines) io.log(l)
      if (!result.ok) io.warn(summary)
      return { summary, data: result }
    }
    throw new SchemaDriftError(summary, result, lines.filter((l) => l.trim() !== ''))
  },
})
