// Smoke test of `npm run bench` in its cheapest form (8 MB, one repetition, no seed or container
// cases): it completes, writes the JSON and Markdown results, and every requested case has numeric
// figures. Timings are never asserted: they depend on the machine and its load.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { repo, tsx } from './helpers/cli.ts'

t.test('bench quick mode: baseline, cold, warm, reset at 8MB', async (t) => {
  const out = t.testdir()
  const r = spawnSync(tsx, ['bench/run.ts', '--size', '8MB', '--cases', 'baseline,cold,warm,reset', '--repeat', '1', '--out', out], {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' },
    encoding: 'utf8',
    timeout: 600_000,
  })
  t.equal(r.status, 0, `bench exits 0\n${r.stderr}`)
  t.match(r.stdout, /original: initdb \+ start \+ psql -f/, 'the table is printed')
  t.match(r.stdout, /load average at start: [\d.]+ [\d.]+ [\d.]+/, 'the machine line carries the load average')

  const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'))
  t.same(json.options.cases, ['baseline', 'cold', 'warm', 'reset'])
  t.equal(json.dump.bytes > 7 * 1024 * 1024, true, 'the dump has about the requested size')
  for (const id of ['baseline', 'cold', 'warm', 'reset']) {
    const c = json.cases.find((x: { id: string }) => x.id === id)
    t.ok(c, `case ${id} is in the JSON`)
    t.equal(c?.status, 'ok', `${id}: ${c?.reason ?? 'ok'}`)
    t.equal(c?.samples.length, 1, `${id} ran once`)
    for (const k of ['minMs', 'medianMs', 'speedupVsBaseline', 'peakRssBytes', 'tmpfsBytes']) {
      t.ok(Number.isFinite(c?.[k]) && c[k] > 0, `${id}.${k} is a positive number (${c?.[k]})`)
    }
  }
  const spare = json.cases.find((x: { id: string }) => x.id === 'reset:spare')
  t.equal(spare?.status, 'ok', 'the spare copy behind reset has its own row')
  t.ok(spare?.samples.length >= 1 && spare.samples.every((s: { ms: number }) => s.ms > 0), 'timed from its log line')
  t.ok(Number.isFinite(json.machine.loadAverageAtStart[0]), 'load average recorded')
  t.match(json.machine.postgres.embeddedServer, /PostgreSQL 17/)
  t.ok(json.coldStartProfile && Object.keys(json.coldStartProfile).length > 3, 'the cold start has a phase profile')
  t.ok(Array.isArray(json.targets) && json.targets.length >= 5 && json.targets.some((x: { target: string }) => /anonymized pull/.test(x.target)), 'the targets are checked')

  const md = readFileSync(join(out, 'latest.md'), 'utf8')
  t.match(md, /\| case \| min \| median \| vs baseline \|/, 'the Markdown table is written')
  t.ok(readdirSync(out).some((f) => /^bench-.*\.json$/.test(f)) && readdirSync(out).some((f) => /^bench-.*\.md$/.test(f)), 'timestamped files are written')
  t.notOk(existsSync(json.dump.path), 'the work directory (with the dump) was removed')
  t.same(readdirSync('/dev/shm').filter((f) => f.startsWith('rotv-bench-')), [], 'no baseline data directory left in /dev/shm')
})
