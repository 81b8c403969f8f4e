// The long lists page with ?limit=&offset= (limit 1..500, default 50) and answer
// { items, total, limit, offset }, so a client knows how many pages there are from the first response.

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500

export class BadRequest extends Error {
  status = 400
}

/** @param {Record<string, unknown>} query @returns {{ limit: number, offset: number }} */
export function readPage(query) {
  const limit = readInt(query.limit, DEFAULT_LIMIT, 'limit')
  const offset = readInt(query.offset, 0, 'offset')
  if (limit < 1 || limit > MAX_LIMIT) throw new BadRequest(`limit must be between 1 and ${MAX_LIMIT}`)
  if (offset < 0) throw new BadRequest('offset must not be negative')
  return { limit, offset }
}

function readInt(value, fallback, name) {
  if (value === undefined || value === '') return fallback
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new BadRequest(`${name} must be an integer`)
  return Number(value)
}
