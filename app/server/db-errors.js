// Which database errors mean "not ready yet" (server down, database missing, schema not loaded), so the
// API answers 503 with a reason instead of a bare 500 while the dev environment is still starting.

const NOT_READY_SQLSTATES = new Map([
  ['57P03', 'the database server is starting up'],
  ['3D000', 'the database does not exist yet'],
  ['42P01', 'the schema is not loaded yet (a table is missing)'],
  ['28000', 'the database rejected the login'],
  ['28P01', 'the database rejected the password'],
])

/** @param {unknown} err @returns {string | undefined} why the database is not ready, if that is the error */
export function notReadyReason(err) {
  const e = /** @type {{ code?: string, message?: string }} */ (err ?? {})
  if (e.code && NOT_READY_SQLSTATES.has(e.code)) return `${NOT_READY_SQLSTATES.get(e.code)}: ${e.message}`
  if (e.code && ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(e.code)) return `the database server is not reachable: ${e.message}`
  if (e.message && /timeout|Connection terminated|connect/i.test(e.message) && !e.code) return `the database server is not reachable: ${e.message}`
  return undefined
}
