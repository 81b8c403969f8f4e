// Roots of The Valley server: `node app/server/index.js`. Listens even while the database is down
// (health answers 503 until it is up) and shuts down cleanly on SIGTERM/SIGINT, closing the HTTP server
// and the pool, so the task runner's signals stop it without orphans.
import { createServer } from 'node:http'
import pg from 'pg'
import { createApp } from './app.js'
import { loadConfig } from './config.js'

const log = (msg) => process.stdout.write(`[rotv] ${msg}\n`)

const config = loadConfig()
if (config.sessionSecretGenerated) log('SESSION_SECRET is not set: using a random per-process secret, so sessions will not survive a restart')

// pg reads PGHOST, PGPORT, PGUSER, PGDATABASE and PGPASSWORD itself.
const pool = new pg.Pool({ max: 10, connectionTimeoutMillis: 3000, idleTimeoutMillis: 30_000 })
pool.on('error', onIdleClientError)

// An idle pooled connection ended by the server. `reset` drops the app's database, which terminates its
// connections (57P01, "administrator command"): an expected event, not an error, so say what happened
// and that the app is back, once however many idle connections went at the same moment.
let reconnecting
function onIdleClientError(err) {
  if (reconnecting) return
  const byReset = err.code === '57P01'
  reconnecting = (async () => {
    for (let attempt = 0; attempt < 60; attempt++) {
      try {
        await pool.query('SELECT 1')
        log(byReset ? 'database reset: reconnected' : `database connection lost (${err.message}); reconnected`)
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
    log(`database connection lost (${err.message}); not reconnected yet, requests answer 503 until it is back`)
  })().finally(() => {
    reconnecting = undefined
  })
}

const { app, close: closeApp } = createApp(pool, config, { log })
const server = createServer(app)
server.keepAliveTimeout = 5000

server.on('error', (err) => {
  log(`cannot listen on ${config.host}:${config.port}: ${err.message}`)
  process.exit(1)
})
server.listen(config.port, config.host, () => {
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : config.port
  log(`listening on http://${config.host}:${port} (database ${process.env.PGHOST ?? 'localhost'}:${process.env.PGPORT ?? 5432}/${process.env.PGDATABASE ?? process.env.PGUSER ?? ''})`)
})

let stopping = false
async function shutdown(signal) {
  if (stopping) return
  stopping = true
  log(`${signal}: shutting down`)
  // Idle keep-alive connections would hold server.close() open; in-flight requests get to finish.
  server.closeIdleConnections()
  const force = setTimeout(() => server.closeAllConnections(), 3000)
  force.unref()
  await new Promise((resolve) => server.close(() => resolve()))
  await closeApp()
  await pool.end().catch(() => {})
  log('stopped')
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
