// GET /api/health: 200 with row counts and the schema version (latest applied migration) once the
// database answers; 503 with the reason until then. The task runner polls this for readiness.
import { Router } from 'express'
import { notReadyReason } from '../db-errors.js'

const COUNTS_SQL = `
SELECT (SELECT count(*) FROM public.pois)::int AS pois,
       (SELECT count(*) FROM public.pois WHERE is_destination)::int AS destinations,
       (SELECT count(*) FROM public.news)::int AS news,
       (SELECT count(*) FROM public.events)::int AS events,
       (SELECT count(*) FROM public.users)::int AS users,
       (SELECT max(id) FROM public.schema_migrations) AS schema_version`

/** @param {import('pg').Pool} pool */
export function healthRoutes(pool) {
  const router = Router()
  router.get('/api/health', async (_req, res) => {
    try {
      const { rows } = await pool.query(COUNTS_SQL)
      const { schema_version: schemaVersion, ...counts } = rows[0]
      res.json({ status: 'ok', schemaVersion, counts })
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: notReadyReason(err) ?? `database error: ${err.message}` })
    }
  })
  return router
}
