import { existsSync } from 'node:fs'
import { buildImage, DEFAULT_IMAGE, describeStages } from '../lib/container/build.ts'
import { requireEngine } from '../lib/container/engine.ts'
import { recordBuild } from '../lib/container/build-record.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { seconds } from './format.ts'

export default defineTask({
  name: 'build',
  description: 'Build the container image (podman, or docker when its daemon answers) with layer caching; reports which stages came from the cache',
  options: [
    { name: 'base-image', type: 'string', description: 'ARG BASE_IMAGE (default ROTV_BASE_IMAGE, else the public debian:trixie-slim)' },
    { name: 'tag', type: 'string', description: `image tag (default ROTV_IMAGE, else ${DEFAULT_IMAGE})` },
    { name: 'no-cache', type: 'flag', description: 'rebuild every stage (e.g. for Debian security updates in the infrastructure stage)' },
    { name: 'ca-file', type: 'string', description: 'extra CA bundle for npm behind a TLS-intercepting proxy (default NODE_EXTRA_CA_CERTS); a build secret, never in the image' },
  ],
  examples: [
    'npx tsx Taskfile.ts build',
    'npx tsx Taskfile.ts build --base-image localhost/debian:trixie --tag localhost/rotv:test',
    'npm run build',
  ],
  async run(ctx, io) {
    const opts = ctx.invocations.get('build')?.options ?? {}
    const baseImage = (opts['base-image'] as string | undefined) ?? ctx.loaded.config.container.baseImage
    const result = await buildImage({
      engine: await requireEngine(ctx.loaded.config.container.engine),
      contextDir: ctx.root,
      tag: (opts.tag as string | undefined) ?? ctx.loaded.config.container.image,
      baseImage,
      caFile: caFile(opts['ca-file'] as string | undefined),
      noCache: Boolean(opts['no-cache']),
      signal: ctx.signal,
      onLine: (line) => io.progress(line),
    })
    // bump-version rebuilds from the same base image.
    await recordBuild(ctx.loaded.config.dataHome, { tag: result.tag, baseImage, imageId: result.imageId, builtAt: new Date().toISOString() })
    for (const s of result.stages) io.log(`stage ${s.name}: ${s.cached ? 'cached' : 'built'} (${s.cachedSteps}/${s.steps} steps from cache)`)
    return {
      summary: `built ${result.tag} in ${seconds(result.durationMs)}: ${describeStages(result.stages)}`,
      data: { tag: result.tag, imageId: result.imageId, durationMs: result.durationMs, stages: result.stages },
    }
  },
})

export function caFile(explicit?: string): string | undefined {
  if (explicit) return explicit
  const fromNode = process.env.NODE_EXTRA_CA_CERTS
  return fromNode && existsSync(fromNode) ? fromNode : undefined
}
