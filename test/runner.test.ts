import { existsSync } from 'node:fs'
import t from 'tap'
import { loadConfig } from '../lib/config/load.ts'
import { RotvError } from '../lib/errors.ts'
import { createRegistry } from '../lib/tasks/graph.ts'
import { runTasks } from '../lib/tasks/run.ts'
import { defineTask, type TaskDefinition } from '../lib/tasks/types.ts'

const root = t.testdir({})
const loaded = loadConfig({ root, env: {} })
const run = (tasks: TaskDefinition[], requested: string[], signal = new AbortController().signal) =>
  runTasks({
    registry: createRegistry(tasks),
    invocations: requested.map((task) => ({ task, args: {}, options: {} })),
    root,
    loaded,
    renderer: 'silent',
    output: process.stderr,
    signal,
  })

t.test('tasks share one typed context and see earlier results', async (t) => {
  const seen: string[] = []
  let counted = 0
  const report = await run(
    [
      defineTask({ name: 'count', description: 'counts', run: async (ctx) => { counted++; ctx.state.count = counted; return { summary: 'counted', data: { n: counted } } } }),
      defineTask({ name: 'a', description: 'a', dependsOn: ['count'], run: async (ctx) => { seen.push(`a:${ctx.state.count}`) } }),
      defineTask({ name: 'b', description: 'b', dependsOn: ['count', 'a'], run: async (ctx) => { seen.push(`b:${JSON.stringify(ctx.results.get('count')?.data)}:${ctx.plan.join(',')}`) } }),
    ],
    ['b', 'a'],
  )
  t.equal(report.ok, true)
  t.equal(counted, 1, 'the shared dependency ran once')
  t.same(seen, ['a:1', 'b:{"n":1}:count,a,b'])
  t.same(report.tasks.map((x) => [x.name, x.status]), [['count', 'succeeded'], ['a', 'succeeded'], ['b', 'succeeded']])
  t.equal(report.tasks[0]!.summary, 'counted')
})

t.test('a failure stops the run, runs the task cleanup, and names the task and its fix', async (t) => {
  const cleaned: string[] = []
  let laterRan = false
  const report = await run(
    [
      defineTask({
        name: 'breaks',
        description: 'fails',
        run: async (_ctx, io) => {
          io.onCleanup(() => { cleaned.push('first') })
          io.onCleanup(() => { cleaned.push('second') })
          throw new RotvError('the snapshot is corrupt', { fix: 'run seed again' })
        },
      }),
      defineTask({ name: 'later', description: 'after', dependsOn: ['breaks'], run: async () => { laterRan = true } }),
    ],
    ['later'],
  )
  t.equal(report.ok, false)
  t.equal(report.failed, 'breaks')
  t.equal(laterRan, false)
  t.same(cleaned, ['second', 'first'], 'cleanups run newest first')
  t.match(report.tasks[0]!.error, { message: 'the snapshot is corrupt', fix: 'run seed again', type: 'RotvError' })
  t.equal(report.tasks[1]!.status, 'not-run')
})

t.test('a failing task can still hand its structured result to --json', async (t) => {
  class DriftError extends RotvError {
    data = { drift: ['public.pois.rating'] }
  }
  const report = await run([defineTask({ name: 'check', description: 'c', run: async () => { throw new DriftError('drift found') } })], ['check'])
  t.equal(report.ok, false)
  t.same(report.tasks[0]!.data, { drift: ['public.pois.rating'] })
})

t.test('aborting stops a running shell command, runs cleanup and reports cancelled', async (t) => {
  const controller = new AbortController()
  const dir = t.testdir({})
  let pid = 0
  const report = await run(
    [
      defineTask({
        name: 'sleepy',
        description: 'sleeps',
        run: async (_ctx, io) => {
          io.onCleanup(async () => { await io.$`touch ${dir}/cleaned` })
          const p = io.$`sleep 300`
          pid = p.child?.pid ?? 0
          setTimeout(() => controller.abort(), 200)
          await p
        },
      }),
    ],
    ['sleepy'],
    controller.signal,
  )
  t.equal(report.cancelled, true)
  t.equal(report.tasks[0]!.status, 'cancelled')
  t.ok(pid > 0, 'the command was started')
  t.equal(processExists(pid), false, 'the sleep process is gone')
  t.equal(existsSync(`${dir}/cleaned`), true, 'cleanup can still run shell commands after the abort')
})

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
