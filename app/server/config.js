// Settings from the environment, read once at start. The database is configured with the standard PG*
// variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), which `pg` reads itself.
import { randomBytes } from 'node:crypto'

/**
 * @typedef {object} AppConfig
 * @property {string} host
 * @property {number} port
 * @property {string} sessionSecret
 * @property {boolean} sessionSecretGenerated true when SESSION_SECRET was unset
 * @property {string | undefined} adminEmail
 * @property {{ clientId: string, clientSecret: string } | undefined} google
 * @property {string} publicDir
 */

/** @returns {AppConfig} */
export function loadConfig(env = process.env) {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`)
  const secret = env.SESSION_SECRET
  return {
    host: env.HOST || '127.0.0.1',
    port,
    sessionSecret: secret || randomBytes(32).toString('hex'),
    sessionSecretGenerated: !secret,
    adminEmail: env.ADMIN_EMAIL ? env.ADMIN_EMAIL.trim().toLowerCase() : undefined,
    google: env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET ? { clientId: env.GOOGLE_CLIENT_ID, clientSecret: env.GOOGLE_CLIENT_SECRET } : undefined,
    publicDir: env.PUBLIC_DIR || new URL('../public/', import.meta.url).pathname,
  }
}
