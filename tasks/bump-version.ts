import { basename, join } from 'node:path'
import { buildImage, DEFAULT_IMAGE, describeStages } from '../lib/container/build.ts'
import { requireEngine } from '../lib/container/engine.ts'
import { lastBuild, recordBuild } from '../lib/container/build-record.ts'
import { BUMP_KINDS, bumpVersion, undoBump } from '../lib/container/version.ts'
import { RotvError } from '../lib/errors.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { caFile } from './build.ts'
import { seconds } from './format.ts'

export default defineTask({
  name: 'bump-version',
  description: "Raise the image version (Containerfile LABEL version, package.json and package-lock.json, together or not at all), then rebuild from the last build's base image: only the application stage runs again; a failed rebuild puts the version back",
  args: [{ name: 'version', required: true, description: `${BUMP_KINDS.join(' | ')} | X.Y.Z (never lower than the current one)` }],
  options: [
    { name: 'no-build', type: 'flag', description: 'only rewrite the version' },
    { name: 'base-image', type: 'string', description: 'ARG BASE_IMAGE for the rebuild (default ROTV_BASE_IMAGE, else the base image of the last build of the tag)' },
    { name: 'tag', type: 'string', description: `image tag for the rebuild (default ROTV_IMAGE, else ${DEFAULT_IMAGE})` },
  ],
  examples: ['npx tsx Taskfile.ts bump-version patch', 'npm run bump minor', 'npx tsx Taskfile.ts bump-version 2.0.0 --no-build'],
  async run(ctx, io) {
    const inv = ctx.invocations.get('bump-version')
    const spec = String(inv?.args.version ?? '')
    const opts = inv?.options ?? {}
    const files = { containerfile: join(ctx.root, 'Containerfile'), packageJson: join(ctx.root, 'package.json'), packageLock: join(ctx.root, 'package-lock.json') }
    const config = ctx.loaded.config
    const tag = (opts.tag as string | undefined) ?? config.container.image
    // The base image the tag was last built from: after the documented no-registry build (a local
    // debootstrap image) the public default would only fail on DNS.
    const previous = await lastBuild(config.dataHome, tag)
    const baseImage = (opts['base-image'] as string | undefined) ?? config.container.baseImage ?? previous?.baseImage
    const bumped = await bumpVersion(files, spec)
    const names = bumped.files.map((f) => basename(f)).join(', ')
    io.log(`version ${bumped.from} -> ${bumped.to} (${names.replace('Containerfile', 'Containerfile LABEL version')})`)
    if (opts['no-build']) return { summary: `version ${bumped.to} (not rebuilt)`, data: { from: bumped.from, to: bumped.to, files: bumped.files } }
    if (baseImage && !opts['base-image'] && !config.container.baseImage) io.log(`rebuilding from ${baseImage}, the base image of the last build of ${previous!.tag}`)
    try {
      const result = await buildImage({
        engine: await requireEngine(config.container.engine),
        contextDir: ctx.root,
        tag,
        baseImage,
        caFile: caFile(),
        signal: ctx.signal,
        onLine: (line) => io.progress(line),
      })
      await recordBuild(config.dataHome, { tag, baseImage, imageId: result.imageId, builtAt: new Date().toISOString() })
      for (const s of result.stages) io.log(`stage ${s.name}: ${s.cached ? 'cached' : 'built'} (${s.cachedSteps}/${s.steps} steps from cache)`)
      return {
        summary: `version ${bumped.to}; rebuilt ${tag} in ${seconds(result.durationMs)}: ${describeStages(result.stages)}`,
        data: { from: bumped.from, to: bumped.to, files: bumped.files, tag, imageId: result.imageId, durationMs: result.durationMs, stages: result.stages },
      }
    } catch (err) {
      // A version no image carries is worse than none: the files go back, unless edited since.
      const undone = await undoBump(bumped)
      const kept = undone.changedSince.length
        ? `; ${undone.changedSince.map((f) => basename(f)).join(', ')} changed during the build and still say ${bumped.to}: set ${bumped.from} there by hand`
        : ''
      const retry = `npx tsx Taskfile.ts bump-version ${bumped.to}${baseImage ? ` --base-image ${baseImage}` : ''}`
      if (err instanceof RotvError) {
        // The engine's lines stay in err.details (printed once); the wrapper only adds what happened to the version.
        throw new RotvError(`the rebuild failed, so the version stays ${bumped.from}${kept}: ${err.message}`, { details: err.details, fix: `${err.fix ? `${err.fix}; then ` : ''}${retry}` })
      }
      throw err
    }
  },
})
