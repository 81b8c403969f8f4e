// The park's content: all destinations in one array (the front page needs every one), and the long
// lists (POIs, news, events) paginated with ?limit=&offset= -> { items, total, limit, offset }.
import { Router } from 'express'
import { BadRequest, readPage } from '../pagination.js'

/** @param {import('pg').Pool} pool */
export function contentRoutes(pool) {
  const router = Router()

  router.get('/api/destinations', async (_req, res) => {
    const { rows } = await pool.query(
      `SELECT id, slug, name, poi_type AS "type", latitude, longitude, news_count::int AS "newsCount", event_count::int AS "eventCount"
         FROM public.destination_summary ORDER BY name, id`)
    res.json(rows)
  })

  router.get('/api/pois', async (req, res) => {
    const filters = []
    const params = []
    if (typeof req.query.type === 'string' && req.query.type) {
      params.push(req.query.type)
      filters.push(`poi_type = $${params.length}`)
    }
    if (req.query.destination !== undefined) {
      if (req.query.destination !== 'true' && req.query.destination !== 'false') throw new BadRequest('destination must be true or false')
      filters.push(req.query.destination === 'true' ? 'is_destination' : 'NOT is_destination')
    }
    const where = filters.length ? `WHERE ${filters.join(' AND ')}` : ''
    res.json(await page(pool, req.query, params,
      `SELECT id, slug, name, poi_type AS "type", is_destination AS "isDestination", description, latitude, longitude, address, website,
              count(*) OVER () AS total
         FROM public.pois ${where} ORDER BY id`))
  })

  router.get('/api/news', async (req, res) => {
    res.json(await page(pool, req.query, [],
      `SELECT n.id, n.title, n.summary, n.body, n.source_url AS "sourceUrl", n.published_at AS "publishedAt",
              n.poi_id AS "poiId", p.name AS "poiName", count(*) OVER () AS total
         FROM public.news n LEFT JOIN public.pois p ON p.id = n.poi_id
        ORDER BY n.published_at DESC, n.id`))
  })

  router.get('/api/events', async (req, res) => {
    res.json(await page(pool, req.query, [],
      `SELECT e.id, e.title, e.description, e.starts_at AS "startsAt", e.ends_at AS "endsAt", e.is_free AS "isFree",
              e.poi_id AS "poiId", p.name AS "poiName", count(*) OVER () AS total
         FROM public.events e LEFT JOIN public.pois p ON p.id = e.poi_id
        ORDER BY e.starts_at, e.id`))
  })

  return router
}

/** Runs `sql` (which selects `count(*) OVER () AS total`) for one page; total also when the page is empty. */
async function page(pool, query, params, sql) {
  const { limit, offset } = readPage(query)
  const { rows } = await pool.query(`${sql} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, limit, offset])
  let total = rows.length ? Number(rows[0].total) : 0
  if (!rows.length && offset > 0) {
    const counted = await pool.query(`SELECT count(*)::int AS n FROM (${sql}) AS all_rows`, params)
    total = counted.rows[0].n
  }
  return { items: rows.map(({ total: _t, ...item }) => item), total, limit, offset }
}
