// One-off SQL against a test server: a fresh connection per call, closed whatever happens.
import pg from 'pg'

/** The first column of the first row. */
export async function scalar(conn: pg.ClientConfig, sql: string): Promise<unknown> {
  return withClient(conn, async (c) => Object.values((await c.query(sql)).rows[0] as object)[0])
}

/** Run statements, discard what they return. */
export async function exec(conn: pg.ClientConfig, sql: string): Promise<void> {
  await withClient(conn, (c) => c.query(sql))
}

async function withClient<T>(conn: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(conn)
  // a server going away mid-test surfaces as the query's rejection, not as an unhandled 'error'
  c.on('error', () => {})
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end().catch(() => {})
  }
}
