// The demo data itself: a Cuyahoga-Valley-like park with points of interest, news, events, users and
// sessions, in the counts production reports. Each table draws from its own seeded stream, so the rows
// of one table do not change when another table grows.
import { copyRow, timestamp, timestamptz } from './copy-text.ts'
import { hashPasswordWithSalt } from './password.ts'
import { streamFor, type Rng } from './prng.ts'

export const DEMO_COUNTS = {
  pois: 371,
  destinations: 178,
  news: 647,
  events: 680,
  users: 250,
  sessions: 40,
} as const

/** A working login in every demo dump (demo data, not a secret). The admin account shares it. */
export const DEMO_LOGIN = { email: 'demo@rootsofthevalley.org', password: 'explore-the-valley' } as const
export const DEMO_ADMIN_EMAIL = 'admin@rootsofthevalley.org'

/** Everything in the demo data happens before this instant, so dumps do not depend on the clock. */
export const DEMO_EPOCH_MS = Date.UTC(2026, 9, 1, 12, 0, 0)

const DAY = 86_400_000
const HOUR = 3_600_000

/** COPY rows per table (without the COPY line and `\.`). */
export function contentRows(seed: number): { pois: string; news: string; events: string; users: string; session: string } {
  const pois = buildPois(streamFor(seed, 'pois'))
  return {
    pois: pois.rows,
    news: buildNews(streamFor(seed, 'news'), pois.names),
    events: buildEvents(streamFor(seed, 'events'), pois.names),
    users: buildUsers(streamFor(seed, 'users'), seed),
    session: buildSessions(streamFor(seed, 'session')),
  }
}

// ---------------------------------------------------------------------------------------------------

const PLACES = [
  'Brandywine', 'Boston Mill', 'Peninsula', 'Everett', 'Jaite', 'Hunt', 'Frazee', 'Stanford', 'Station Road', 'Indigo Lake',
  'Beaver Marsh', 'Ledges', 'Kendall Lake', 'Virginia Kendall', 'Oak Hill', 'Pine Lane', 'Blue Hen', 'Bridal Veil',
  'Tinkers Creek', 'Deep Lock', 'Lock 29', 'Hale', 'Szalay', 'Botzum', 'Red Lock', 'Wetmore', 'Buttermilk', 'Sylvan',
  'Hawthorn', 'Sand Run', 'Furnace Run', 'Riverview', 'Columbia Run', 'Ira', 'Brecksville', 'Chippewa Creek', 'Quarry',
  'Happy Days', 'Octagon', 'Crooked River', 'Canal Exploration', 'Hines Hill', 'Wilson', 'Frost',
]

const FEATURES: Array<{ type: string; suffix: string }> = [
  { type: 'waterfall', suffix: 'Falls' },
  { type: 'trailhead', suffix: 'Trailhead' },
  { type: 'overlook', suffix: 'Overlook' },
  { type: 'visitor_center', suffix: 'Visitor Center' },
  { type: 'historic_site', suffix: 'Homestead' },
  { type: 'historic_site', suffix: 'Covered Bridge' },
  { type: 'historic_site', suffix: 'Mill' },
  { type: 'picnic_area', suffix: 'Picnic Area' },
  { type: 'cafe', suffix: 'Café' },
  { type: 'lodging', suffix: 'Inn' },
  { type: 'wetland', suffix: 'Marsh Boardwalk' },
  { type: 'trail', suffix: 'Loop Trail' },
]

const SENTENCES = [
  'A short walk from the parking lot leads to the viewing platform.',
  'The boardwalk is accessible and stroller-friendly.',
  'Great blue herons nest here from March to July.',
  'Sandstone ledges formed 320 million years ago line the trail.',
  'Restrooms and drinking water are available seasonally.',
  'The Ohio & Erie Canal once carried freight past this spot.',
  'Parking fills up early on summer weekends; try the Scenic Railroad instead.',
  'Dogs are welcome on a leash no longer than six feet.',
  'In winter the trail may be icy — traction devices are recommended.',
  'Rangers lead guided walks here on Saturday mornings.',
]

function buildPois(rng: Rng): { rows: string; names: string[] } {
  const combos: Array<{ name: string; type: string }> = []
  for (const place of PLACES) for (const f of FEATURES) combos.push({ name: `${place} ${f.suffix}`, type: f.type })
  shuffle(rng, combos)
  const chosen = combos.slice(0, DEMO_COUNTS.pois)
  // Non-ASCII and escaping cases a real dump carries: accents, em dashes, tabs, newlines, backslashes.
  chosen[0] = { name: 'Café Brandywine Falls — Überblick', type: 'cafe' }
  const destination = new Array<boolean>(chosen.length).fill(false)
  const order = chosen.map((_, i) => i)
  shuffle(rng, order)
  for (const i of order.slice(0, DEMO_COUNTS.destinations)) destination[i] = true
  destination[0] = true
  if (destination.filter(Boolean).length > DEMO_COUNTS.destinations) destination[order[DEMO_COUNTS.destinations - 1]!] = false

  let rows = ''
  const names: string[] = []
  chosen.forEach((poi, i) => {
    const id = i + 1
    names.push(poi.name)
    let description = sentences(rng, rng.int(1, 3))
    if (i === 0) description = 'Crêpes, Kaffee und Aussicht: das Café am Wasserfall.\nOpen daily\t8:00–17:00.\nTrail map ref. \\\\TR-12\\'
    else if (rng.chance(0.15)) description += '\n\n' + sentences(rng, 2)
    else if (rng.chance(0.05)) description += '\tSeasonal hours.'
    const created = DEMO_EPOCH_MS - rng.int(400, 1500) * DAY + rng.int(0, DAY / 1000) * 1000
    const updated = created + rng.int(0, 300) * DAY
    rows += copyRow([
      id,
      `${slugify(poi.name)}-${id}`,
      poi.name,
      poi.type,
      destination[i]!,
      rng.chance(0.05) ? null : description,
      round(41.2 + rng.next() * 0.24, 6),
      round(-81.64 + rng.next() * 0.14, 6),
      rng.chance(0.3) ? null : `${rng.int(100, 9999)} ${rng.pick(['Riverview Rd', 'Akron Peninsula Rd', 'Truxell Rd', 'Boston Mills Rd', 'Everett Rd', 'Canal Rd'])}, ${rng.pick(['Peninsula', 'Brecksville', 'Valley View', 'Cuyahoga Falls', 'Sagamore Hills'])}, OH 44264`,
      rng.chance(0.4) ? null : `https://www.nps.gov/cuva/planyourvisit/${slugify(poi.name)}.htm`,
      timestamptz(created),
      timestamptz(updated),
    ])
  })
  return { rows, names }
}

const NEWS_TOPICS = [
  'Trail reopens after storm repairs', 'New accessible boardwalk opens', 'Bald eagles return to nest',
  'Volunteers plant 2,000 native trees', 'Scenic Railroad adds fall foliage trips', 'Bridge rehabilitation begins',
  'Ranger-led night hikes announced', 'Parking changes for the summer season', 'Invasive species removal day',
  'Record visitor numbers reported', 'Historic farmhouse restoration completed', 'Winter trail conditions update',
]

function buildNews(rng: Rng, poiNames: string[]): string {
  let rows = ''
  for (let id = 1; id <= DEMO_COUNTS.news; id++) {
    const poi = rng.chance(0.85) ? rng.int(1, poiNames.length) : null
    const place = poi ? poiNames[poi - 1]! : 'the park'
    const title = `${rng.pick(NEWS_TOPICS)} at ${place}`
    const paragraphs: string[] = []
    for (let p = rng.int(2, 5); p > 0; p--) paragraphs.push(sentences(rng, rng.int(3, 6)))
    const published = DEMO_EPOCH_MS - rng.int(1, 900) * DAY - rng.int(0, 86_399) * 1000
    rows += copyRow([
      id,
      poi,
      title,
      rng.chance(0.1) ? null : `${place}: ${sentences(rng, 1)}`,
      paragraphs.join('\n\n'),
      rng.chance(0.3) ? null : `https://www.nps.gov/cuva/learn/news/${id}.htm`,
      timestamptz(published),
      timestamptz(published + rng.int(60, 3600) * 1000),
      timestamptz(published + rng.int(3600, 30 * 86_400) * 1000),
    ])
  }
  return rows
}

const EVENT_KINDS = [
  'Guided Hike', 'Birding Walk', 'Photography Workshop', 'Junior Ranger Day', 'Night Sky Program', 'Canal Lock Demonstration',
  'Farmers Market', 'Trail Run', 'Volunteer Work Day', 'Concert on the Lawn', 'Wildflower Walk', 'History Talk',
]

function buildEvents(rng: Rng, poiNames: string[]): string {
  let rows = ''
  for (let id = 1; id <= DEMO_COUNTS.events; id++) {
    const poi = rng.chance(0.9) ? rng.int(1, poiNames.length) : null
    const place = poi ? poiNames[poi - 1]! : 'various locations'
    const starts = DEMO_EPOCH_MS + rng.int(-365, 365) * DAY + rng.int(8, 19) * HOUR + rng.pick([0, 15, 30, 45]) * 60_000
    const created = starts - rng.int(14, 120) * DAY
    rows += copyRow([
      id,
      poi,
      `${rng.pick(EVENT_KINDS)} — ${place}`,
      rng.chance(0.1) ? null : sentences(rng, rng.int(1, 3)),
      timestamptz(starts),
      rng.chance(0.2) ? null : timestamptz(starts + rng.int(1, 4) * HOUR),
      rng.chance(0.75),
      timestamptz(created),
      timestamptz(created + rng.int(0, 10) * DAY),
    ])
  }
  return rows
}

const FIRST = ['Alex', 'Maria', 'James', 'Zoë', 'José', 'Aisha', 'Chen', 'Olivia', 'Liam', 'Sofía', 'Noah', 'Émilie', 'Priya', 'Lukas', 'Hannah', 'Mateo', 'Ava', 'Björn', 'Grace', 'Kenji']
const LAST = ['Smith', 'Müller', 'Peña', 'Johnson', "O'Brien", 'Nguyen', 'Kowalski', 'García', 'Brown', 'Łukasik', 'Williams', 'Novák', 'Patel', 'Jones', 'Dubois', 'Andersen']

function buildUsers(rng: Rng, seed: number): string {
  const saltRng = streamFor(seed, 'password-salt')
  const demoHash = hashPasswordWithSalt(DEMO_LOGIN.password, Buffer.from(saltRng.chars(16, HEX), 'hex'))
  let rows = ''
  for (let id = 1; id <= DEMO_COUNTS.users; id++) {
    const first = rng.pick(FIRST)
    const last = rng.pick(LAST)
    let email = `${ascii(first)}.${ascii(last)}${id}@${rng.pick(['example.com', 'example.org', 'mail.example.net'])}`.toLowerCase()
    let name = `${first} ${last}`
    let role = rng.chance(0.04) ? 'editor' : 'user'
    let isAdmin = false
    let password: string | null = rng.chance(0.75) ? fakeHash(rng) : null
    const google = rng.chance(0.4) ? rng.chars(21, DIGITS) : null
    const facebook = rng.chance(0.25) ? rng.chars(16, DIGITS) : null
    if (id === 1) { email = DEMO_ADMIN_EMAIL; name = 'Valley Admin'; role = 'admin'; isAdmin = true; password = demoHash }
    if (id === 2) { email = DEMO_LOGIN.email; name = 'Demo Explorer'; role = 'user'; password = demoHash }
    if (!password && !google && !facebook) password = fakeHash(rng)
    const created = DEMO_EPOCH_MS - rng.int(1, 1000) * DAY - rng.int(0, 86_399) * 1000
    rows += copyRow([id, email, name, google, facebook, password, role, isAdmin, timestamptz(created), timestamptz(created + rng.int(0, 200) * DAY)])
  }
  return rows
}

function buildSessions(rng: Rng): string {
  const lines: Array<{ sid: string; row: string }> = []
  for (let i = 0; i < DEMO_COUNTS.sessions; i++) {
    const sid = rng.chars(32, B64URL)
    const expire = DEMO_EPOCH_MS + rng.int(1, 30) * DAY + rng.int(0, 86_399) * 1000
    const sess = JSON.stringify({
      cookie: { originalMaxAge: 30 * DAY, expires: new Date(expire).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      userId: rng.int(1, DEMO_COUNTS.users),
      csrf: rng.chars(24, B64URL),
    })
    lines.push({ sid, row: copyRow([sid, sess, timestamp(expire)]) })
  }
  return lines.map((l) => l.row).join('')
}

// ---------------------------------------------------------------------------------------------------

const DIGITS = '0123456789'
const HEX = '0123456789abcdef'
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Same format as a real hash, random bytes: production users whose passwords nobody knows. */
function fakeHash(rng: Rng): string {
  return `scrypt$16384$8$1$${rng.chars(22, B64)}==$${rng.chars(86, B64)}==`
}

function sentences(rng: Rng, n: number): string {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(rng.pick(SENTENCES))
  return out.join(' ')
}

function shuffle<T>(rng: Rng, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
}

function slugify(s: string): string {
  return ascii(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
}

function ascii(s: string): string {
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/Ł/g, 'L').replace(/ł/g, 'l').replace(/[^A-Za-z0-9 .-]/g, '')
}

function round(n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
