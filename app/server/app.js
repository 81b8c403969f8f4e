// The Express app: API routes, the session store, the built frontend, and errors as JSON (503 with a
// reason while the database is not ready, 400 for bad parameters).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import express from 'express'
import session from 'express-session'
import connectPgSimple from 'connect-pg-simple'
import { notReadyReason } from './db-errors.js'
import { authRoutes } from './routes/auth.js'
import { contentRoutes } from './routes/content.js'
import { healthRoutes } from './routes/health.js'

/**
 * @param {import('pg').Pool} pool
 * @param {import('./config.js').AppConfig} config
 * @param {{ log: (msg: string) => void }} logger
 * @returns {{ app: import('express').Express, close: () => Promise<void> }}
 */
export function createApp(pool, config, logger) {
  const PgStore = connectPgSimple(session)
  const store = new PgStore({
    pool,
    tableName: 'session',
    createTableIfMissing: false, // the migrations own the table
    pruneSessionInterval: 15 * 60,
    errorLog: (...args) => logger.log(`session store: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`),
  })
  const sessions = session({
    store,
    secret: config.sessionSecret,
    name: 'rotv.sid',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 30 * 24 * 3600 * 1000 },
  })

  const app = express()
  app.disable('x-powered-by')
  app.use(healthRoutes(pool))
  app.use(contentRoutes(pool))
  app.use(authRoutes(pool, config, sessions))
  app.use('/api', (_req, res) => res.status(404).json({ error: 'not found' }))

  if (existsSync(join(config.publicDir, 'index.html'))) {
    app.use(express.static(config.publicDir, { index: 'index.html', maxAge: '1h', setHeaders: noCacheForHtml }))
  } else {
    app.get('/', (_req, res) => {
      res.status(503).type('text').send(`The frontend is not built (no ${config.publicDir}index.html): run npm run build -w app\n`)
    })
  }

  app.use((err, _req, res, _next) => {
    if (err.status === 400 || err.type === 'entity.parse.failed') {
      res.status(400).json({ error: err.message })
      return
    }
    const reason = notReadyReason(err)
    if (reason) {
      res.status(503).json({ error: 'database not ready', reason })
      return
    }
    logger.log(`error: ${err.stack ?? err}`)
    res.status(500).json({ error: 'internal error' })
  })

  return { app, close: () => new Promise((resolve) => { store.close(); resolve() }) }
}

function noCacheForHtml(res, path) {
  if (path.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache')
}
