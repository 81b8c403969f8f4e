import { join } from 'node:path'
import { buildImage, DEFAULT_IMAGE, describeStages } from '../lib/container/build.ts'
import { requireEngine } from '../lib/container/engine.ts'
import { BUMP_KINDS, bumpVersion } from '../lib/container/version.ts'
import { RotvError } from '../lib/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { caFile } from './build.ts'
import { seconds } from './format.ts'

export default defineTask({
  name: 'bump-version',
  description: "Raise the image version (Containerfile LABEL version and package.json, together or not at all), then rebuild: only the application stage runs again",
  args: [{ name: 'version', required: true, description: `${BUMP_KINDS.join(' | ')} | X.Y.Z (never lower than the current one)` }],
  options: [
    { name: 'no-build', type: 'flag', description: 'only rewrite the version' },
    { name: 'base-image', type: 'string', description: 'ARG BASE_IMAGE for the rebuild (default ROTV_BASE_IMAGE)' },
    { name: 'tag', type: 'string', description: `image tag for the rebuild (default ROTV_IMAGE, else ${DEFAULT_IMAGE})` },
  ],
  examples: ['npx tsx Taskfile.ts bump-version patch', 'npm run bump minor', 'npx tsx Taskfile.ts bump-version 2.0.0 --no-build'],
  async run(ctx, io) {
    const inv = ctx.invocations.get('bump-version')
    const spec = String(inv?.args.version ?? '')
    const opts = inv?.options ?? {}
    const bumped = await bumpVersion({ containerfile: join(ctx.root, 'Containerfile'), packageJson: join(ctx.root, 'package.json') }, spec)
    io.log(`version ${bumped.from} -> ${bumped.to} (Containerfile LABEL version, package.json)`)
    if (opts['no-build']) return { summary: `version ${bumped.to} (not rebuilt)`, data: { ...bumped } }
    const tag = (opts.tag as string | undefined) ?? ctx.loaded.config.container.image
    try {
      const result = await buildImage({
        engine: await requireEngine(ctx.loaded.config.container.engine),
        contextDir: ctx.root,
        tag,
        baseImage: (opts['base-image'] as string | undefined) ?? ctx.loaded.config.container.baseImage,
        caFile: caFile(),
        signal: ctx.signal,
        onLine: (line) => io.progress(line),
      })
      for (const s of result.stages) io.log(`stage ${s.name}: ${s.cached ? 'cached' : 'built'} (${s.cachedSteps}/${s.steps} steps from cache)`)
      return {
        summary: `version ${bumped.to}; rebuilt ${tag} in ${seconds(result.durationMs)}: ${describeStages(result.stages)}`,
        data: { ...bumped, tag, imageId: result.imageId, durationMs: result.durationMs, stages: result.stages },
      }
    } catch (err) {
      if (err instanceof RotvError) {
        throw new RotvError(`version is now ${bumped.to}, but the rebuild failed: ${err.message}`, { fix: `${err.fix ? `${err.fix}; then ` : ''}npx tsx Taskfile.ts build`, cause: err })
      }
      throw err
    }
  },
})
