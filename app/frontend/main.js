// The front page: counts from /api/health, every destination from /api/destinations, a filter box.
// No framework; the DOM is built with textContent so names from the database are never parsed as HTML.

const $ = (sel) => document.querySelector(sel)

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' } })
  const body = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(body.reason || body.error || `${url}: HTTP ${res.status}`)
  return body
}

function showCounts(counts) {
  for (const el of document.querySelectorAll('[data-count]')) {
    const n = counts[el.dataset.count]
    el.textContent = typeof n === 'number' ? n.toLocaleString('en-US') : '–'
  }
}

const TYPE_LABELS = {
  waterfall: 'Waterfall', trailhead: 'Trailhead', overlook: 'Overlook', visitor_center: 'Visitor center', historic_site: 'Historic site',
  picnic_area: 'Picnic area', cafe: 'Café', lodging: 'Lodging', wetland: 'Wetland', trail: 'Trail',
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`

function destinationCard(d) {
  const li = document.createElement('li')
  li.className = 'card'
  li.dataset.type = d.type
  const name = document.createElement('h3')
  name.textContent = d.name
  const type = document.createElement('span')
  type.className = `type type-${d.type}`
  type.textContent = TYPE_LABELS[d.type] ?? d.type
  const meta = document.createElement('p')
  meta.className = 'meta'
  meta.textContent = `${plural(d.newsCount, 'news item')} · ${plural(d.eventCount, 'event')}`
  meta.title = `${d.latitude.toFixed(4)}, ${d.longitude.toFixed(4)}`
  li.append(type, name, meta)
  return li
}

function renderDestinations(all, filter) {
  const needle = filter.trim().toLowerCase()
  const shown = needle ? all.filter((d) => d.name.toLowerCase().includes(needle)) : all
  const list = $('#destination-list')
  list.replaceChildren(...shown.map(destinationCard))
  $('#destination-count').textContent = needle ? `${shown.length} of ${all.length}` : String(all.length)
}

async function main() {
  const status = $('#status')
  try {
    const [health, destinations, auth] = await Promise.all([
      getJson('/api/health'),
      getJson('/api/destinations'),
      getJson('/api/auth/status').catch(() => null),
    ])
    showCounts(health.counts)
    renderDestinations(destinations, '')
    $('#filter').addEventListener('input', (e) => renderDestinations(destinations, e.target.value))
    status.textContent = `Database ready · schema ${health.schemaVersion ?? 'unknown'}`
    status.classList.add('ok')
    const footer = [`${health.counts.users} registered users`]
    if (auth) footer.push(auth.authenticated ? `signed in as ${auth.user.name}` : auth.oauth.enabled ? 'sign in with Google available' : 'OAuth login disabled')
    $('#footer').textContent = footer.join(' · ')
  } catch (err) {
    status.textContent = `Not ready: ${err.message}`
    status.classList.add('error')
  }
}

main()
