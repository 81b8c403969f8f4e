// The reference app (Roots of The Valley) as the task runner sees it: everything the engine knows about
// an app comes from this file. Another app writes its own (see the README's "The project file").
import { defineProject } from './lib/index.ts'

export default defineProject({
  name: 'rotv',
  app: {
    dir: 'app',
    start: { command: 'node', args: ['server/index.js'] },
    // 200 once the database answers and the schema is migrated; 503 with a reason before that.
    readiness: { http: '/api/health', status: 200 },
    readyLine: { healthField: 'counts', labels: { pois: 'POIs', destinations: 'destinations', news: 'news', events: 'events', users: 'users' } },
    build: { command: 'npx', args: ['--no', 'vite', 'build', '--logLevel', 'warn'], inputs: ['frontend', 'vite.config.js'], output: 'public/index.html' },
    containerDir: '/opt/rotv/app',
  },
  migrations: { sql: 'app/migrations' },
  // The original setup's database for the app's own tests.
  extraDatabases: (db) => [`${db}_test`],
  names: { database: 'rotv', dataHome: '~/.rotv', container: 'rotv', image: 'localhost/rotv:latest' },
  variables: [
    {
      name: 'SESSION_SECRET', group: 'Session', kind: 'secret', secret: true, minLength: 32, placeholder: 'change-me-to-a-long-random-string',
      description: 'Signs session cookies; at least 32 characters (`openssl rand -hex 32`). Required with PERSISTENT_DATA=true; in dev a random one is made per start',
      required: 'persistent',
      requiredWhy: 'PERSISTENT_DATA=true (production) needs a stable session secret',
      fix: 'set SESSION_SECRET in .env; generate one with: openssl rand -hex 32',
      whenUnset: 'Session secret: not set; a random one is made on each start, so logins end at restart (set SESSION_SECRET to keep them)',
    },
    {
      name: 'GOOGLE_CLIENT_ID', group: 'OAuth login (optional: without it the app runs with OAuth login disabled)', kind: 'string', placeholder: 'your-google-client-id',
      description: 'Google OAuth client id',
      with: ['GOOGLE_CLIENT_SECRET'],
      whenSet: 'OAuth login: Google',
      whenUnset: 'OAuth login: off; the app runs with OAuth login disabled (set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET to enable it)',
    },
    {
      name: 'GOOGLE_CLIENT_SECRET', group: 'OAuth login (optional: without it the app runs with OAuth login disabled)', kind: 'secret', secret: true, placeholder: 'your-google-client-secret',
      description: 'Google OAuth client secret',
      with: ['GOOGLE_CLIENT_ID'],
    },
    {
      name: 'ADMIN_EMAIL', group: 'Admin', kind: 'email', placeholder: 'admin@example.com',
      description: 'E-mail of the user who gets admin rights',
      whenSet: 'Admin: {value}',
      whenUnset: 'Admin: no admin user (set ADMIN_EMAIL to give that user admin rights)',
    },
  ],
})
