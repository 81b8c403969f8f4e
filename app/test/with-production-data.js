// Example (not part of this repository's suite; test/test-db.test.ts runs it): the app's own tests on production data. Each test takes its own copy of the pristine
// snapshot from the pool of the environment `npx tsx Taskfile.ts start` runs (ready-made: a rename,
// not a copy), may change anything in it, and gives it back. Run: npm test --workspace app
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { openTestDatabases } from '../../lib/test-db/index.ts'

let pool
before(async () => {
  pool = await openTestDatabases({ size: 2 })
})
after(async () => {
  await pool.settle()
})

async function withDatabase(fn) {
  const db = await pool.acquire()
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
    await db.release()
  }
}

const newsCount = async (client) => (await client.query('SELECT count(*)::int AS n FROM news')).rows[0].n

test('a test may delete every news item', async () => {
  await withDatabase(async (client) => {
    assert.ok((await newsCount(client)) > 0, 'the snapshot has news')
    await client.query('DELETE FROM news')
    assert.equal(await newsCount(client), 0)
  })
})

test('the next test gets the snapshot as it was', async () => {
  await withDatabase(async (client) => {
    assert.ok((await newsCount(client)) > 0, 'the news are back: a fresh copy, not the one the last test changed')
  })
})
