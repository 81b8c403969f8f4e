// Password login with sessions in PostgreSQL (connect-pg-simple). OAuth is optional and only reported:
// without GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET the status says OAuth login is disabled; the reference
// app never makes the OAuth round trip (no network beyond the database).
import express, { Router } from 'express'
import { verifyPassword } from '../passwords.js'

/**
 * @param {import('pg').Pool} pool
 * @param {import('../config.js').AppConfig} config
 * @param {import('express').RequestHandler} sessions the session middleware (only auth routes need it)
 */
export function authRoutes(pool, config, sessions) {
  const router = Router()
  router.use('/api/auth', sessions)

  router.get('/api/auth/status', async (req, res) => {
    const user = req.session.userId ? await findUser(pool, 'id = $1', req.session.userId) : undefined
    res.json({
      authenticated: Boolean(user),
      user: user ? publicUser(user, config) : null,
      methods: { password: true, google: Boolean(config.google) },
      oauth: config.google
        ? { enabled: true, providers: ['google'] }
        : { enabled: false, reason: 'OAuth login is disabled: GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set' },
    })
  })

  router.post('/api/auth/login', express.json({ limit: '10kb' }), async (req, res) => {
    const { email, password } = req.body ?? {}
    if (typeof email !== 'string' || typeof password !== 'string' || !email || !password) {
      res.status(400).json({ error: 'email and password are required' })
      return
    }
    const user = await findUser(pool, 'lower(email) = lower($1)', email.trim())
    if (!user || !(await verifyPassword(password, user.password_hash))) {
      res.status(401).json({ error: 'invalid email or password' })
      return
    }
    await promisify(req.session, 'regenerate')
    req.session.userId = user.id
    await promisify(req.session, 'save')
    res.json({ authenticated: true, user: publicUser(user, config) })
  })

  router.post('/api/auth/logout', async (req, res) => {
    await promisify(req.session, 'destroy')
    res.json({ authenticated: false })
  })

  router.get('/api/auth/google', (_req, res) => {
    if (!config.google) res.status(404).json({ error: 'OAuth login is disabled: GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are not set' })
    else res.status(501).json({ error: 'the reference app does not perform the OAuth round trip' })
  })

  return router
}

async function findUser(pool, where, value) {
  const { rows } = await pool.query(`SELECT id, email, name, role, is_admin, password_hash, google_id, facebook_id FROM public.users WHERE ${where}`, [value])
  return rows[0]
}

function publicUser(user, config) {
  const isAdmin = user.is_admin || user.role === 'admin' || (config.adminEmail !== undefined && user.email.toLowerCase() === config.adminEmail)
  return { id: user.id, email: user.email, name: user.name, role: user.role, isAdmin, linked: { google: Boolean(user.google_id), facebook: Boolean(user.facebook_id) } }
}

function promisify(session, method) {
  return new Promise((resolve, reject) => session[method]((err) => (err ? reject(err) : resolve())))
}
