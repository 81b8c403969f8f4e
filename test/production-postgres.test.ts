import t from 'tap'
import { startProductionPostgres } from './helpers/production-postgres.ts'

t.test('the production stand-in server answers on loopback', async (t) => {
  const pg = await startProductionPostgres({ databases: ['rotv'] })
  t.teardown(() => pg.stop())
  const { stdout } = await pg.psql('rotv', ['-At', '-c', 'select current_database(), inet_server_addr()'])
  t.equal(stdout.trim(), 'rotv|127.0.0.1')
})
