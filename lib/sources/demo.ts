// The `demo` source: the reference app's generated dump, for when no server is configured. Imported
// lazily so the generator is only loaded when it is used.
import type { Readable } from 'node:stream'
import type { DumpStream, SnapshotSource, SourceCompletion, SourceSpec } from './types.ts'
import { RotvError } from '../errors.ts'

interface DemoModule {
  generateDemoDump(opts: { seed?: number; size?: number }): Readable
}

export function demoSource(spec: SourceSpec): SnapshotSource {
  return {
    spec,
    describe: () => 'demo (generated data)',
    async open(): Promise<DumpStream> {
      const stream = (await loadGenerator()).generateDemoDump({ seed: spec.seed, size: spec.size })
      const done = new Promise<SourceCompletion>((resolve) => {
        const base = { exitCodes: {}, signals: {}, stderr: '' }
        stream.once('end', () => resolve({ ok: true, ...base }))
        stream.once('error', (err: Error) =>
          resolve({ ok: false, ...base, stderr: err.message, error: new RotvError(`demo dump generation failed: ${err.message}`) }),
        )
      })
      return { stream, format: 'plain', meta: { kind: 'demo', host: 'demo', description: 'demo (generated data)' }, done }
    },
  }
}

async function loadGenerator(): Promise<DemoModule> {
  // A computed specifier: the generator is another module's, and must not be a compile-time dependency.
  const specifier = new URL('../demo/generate.ts', import.meta.url).href
  try {
    const mod = (await import(specifier)) as Partial<DemoModule>
    if (typeof mod.generateDemoDump !== 'function') throw new Error('lib/demo/generate.ts does not export generateDemoDump')
    return mod as DemoModule
  } catch (err) {
    throw new RotvError(`the demo data generator is unavailable: ${(err as Error).message}`, {
      fix: 'configure a real source (e.g. PRODUCTION_HOST) or restore lib/demo/generate.ts',
      cause: err,
    })
  }
}
