import t from 'tap'
import { createRegistry, planRun, suggest, TaskGraphError, UnknownTaskError } from '../lib/tasks/graph.ts'
import { defineTask, type TaskDefinition } from '../lib/tasks/types.ts'

const task = (name: string, dependsOn: string[] = []): TaskDefinition =>
  defineTask({ name, description: `the ${name} task`, dependsOn, run: async () => {} })

t.test('dependencies run first, each task once, requested order kept where possible', async (t) => {
  // diamond: start -> (seed-fresh, validate-env); seed-fresh -> validate-env
  const registry = createRegistry([
    task('validate-env'),
    task('seed-fresh', ['validate-env']),
    task('start', ['validate-env', 'seed-fresh']),
    task('stop'),
    task('status'),
  ])
  t.same(planRun(registry, ['start']), ['validate-env', 'seed-fresh', 'start'])
  t.same(planRun(registry, ['stop', 'start']), ['stop', 'validate-env', 'seed-fresh', 'start'])
  t.same(planRun(registry, ['start', 'seed-fresh', 'start']), ['validate-env', 'seed-fresh', 'start'], 'asking twice runs once')
  t.same(planRun(registry, ['status', 'stop']), ['status', 'stop'])
})

t.test('a cycle is rejected when the registry is built, naming the loop', async (t) => {
  const err = t.throws(() => createRegistry([task('a', ['b']), task('b', ['c']), task('c', ['a']), task('d')])) as Error
  t.type(err, TaskGraphError)
  t.match(err.message, /cycle: a -> b -> c -> a/)
  t.throws(() => createRegistry([task('self', ['self'])]), /cycle: self -> self/)
})

t.test('an unknown dependency is rejected at start-up with a suggestion', async (t) => {
  const err = t.throws(() => createRegistry([task('seed'), task('start', ['sed'])])) as TaskGraphError
  t.match(err.message, /"start" depends on unknown task "sed"/)
  t.match(err.fix, /did you mean "seed"/)
})

t.test('duplicate task names are rejected', async (t) => {
  t.throws(() => createRegistry([task('a'), task('a')]), /two tasks are named "a"/)
})

t.test('an unknown requested task gets a suggestion', async (t) => {
  const registry = createRegistry([task('validate-env'), task('start'), task('status')])
  const err = t.throws(() => planRun(registry, ['strat'])) as UnknownTaskError
  t.type(err, UnknownTaskError)
  t.equal(err.suggestion, 'start')
  t.match(err.message, /unknown task "strat" \(did you mean "start"\?\)/)
  t.equal(suggest('validate', ['validate-env', 'start']), 'validate-env', 'a prefix counts as close')
  t.equal(suggest('xyzzy', ['validate-env', 'start']), undefined, 'nothing close, no suggestion')
})
