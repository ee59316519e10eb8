// /incidents/<id>: the page every notification links to. Static like the dashboard (a browser
// navigation carries no bearer header); the data comes from GET /api/v1/rca/<id> with the token
// kept in sessionStorage (the dashboard's, or `?token=` once).
;(() => {
  const TOKEN_KEY = 'connrca.token'
  const $ = (id) => document.getElementById(id)
  const url0 = new URL(location.href)
  if (url0.searchParams.has('token')) {
    sessionStorage.setItem(TOKEN_KEY, url0.searchParams.get('token'))
    url0.searchParams.delete('token')
    history.replaceState(null, '', url0.pathname + url0.search)
  }
  const id = decodeURIComponent(location.pathname.replace(/^\/incidents\//, ''))
  const utc = (ms) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ')
  const fmt = new Intl.NumberFormat('en')
  const li = (list, text) => {
    const el = document.createElement('li')
    el.textContent = text
    list.appendChild(el)
    return el
  }

  function show(state, message) {
    $('incident').dataset.state = state
    $('message').textContent = message || ''
    $('message').hidden = !message
    $('token-form').hidden = state !== 'auth'
    $('content').hidden = state !== 'ready'
  }

  async function load() {
    const headers = { accept: 'application/json' }
    const token = sessionStorage.getItem(TOKEN_KEY)
    if (token) headers.authorization = `Bearer ${token}`
    const res = await fetch(`/api/v1/rca/${encodeURIComponent(id)}`, { headers })
    if (res.status === 401) return show('auth', 'This API needs its token.')
    const body = await res.json().catch(() => null)
    if (res.status === 404) return show('missing', `No incident ${id} in the store (it may be older than the retention).`)
    if (!res.ok) return show('error', body?.error?.message || `HTTP ${res.status}`)
    render(body)
    show('ready')
  }

  function render({ event: e, windowCounts, revisions }) {
    document.title = `connrca · ${e.title}`
    $('title').textContent = e.title
    $('meta').textContent =
      `${e.status} · ${e.severity} · ${e.server} · ${e.category} · ${fmt.format(e.count)} failure${e.count === 1 ? '' : 's'} · ` +
      `${utc(e.firstFailure)} – ${utc(e.lastFailure)} UTC`
    $('text').textContent = e.text
    for (const h of e.hypotheses || []) {
      const el = li($('hypotheses'), `${h.title} (score ${h.score}): ${h.text}`)
      const ev = Object.entries(h.evidence || {})
      if (ev.length) {
        const p = document.createElement('div')
        p.className = 'evidence'
        p.textContent = `evidence: ${ev.map(([k, v]) => `${k} ${v}`).join(' · ')}`
        el.appendChild(p)
      }
    }
    if (!(e.hypotheses || []).length) li($('hypotheses'), 'no diagnosis for this cause')
    for (const s of e.steps) li($('steps'), s)
    for (const w of windowCounts) {
      const tr = document.createElement('tr')
      for (const v of [`${utc(w.windowStart)} – ${utc(w.windowEnd).slice(11)}`, fmt.format(w.failures), fmt.format(w.attempts), fmt.format(w.distinctClients)]) {
        const td = document.createElement('td')
        td.textContent = v
        tr.appendChild(td)
      }
      $('windows').appendChild(tr)
    }
    const tops = [
      ['clients', e.topClients],
      ['users', e.topUsers],
      ['databases', e.topDatabases],
    ]
    for (const [label, xs] of tops)
      if (xs.length) li($('tops'), `${label}: ${xs.map((x) => `${x.value} (${fmt.format(x.count)})`).join(', ')}`)
    for (const r of revisions) li($('revisions'), `revision ${r.revision}: ${r.status}, ${fmt.format(r.count)} failures, ${utc(r.emittedAt)} UTC`)
    // back to the dashboard on the incident's day
    $('back').href = `/?from=${new Date(e.firstFailure - 3_600_000).toISOString().slice(0, 16)}Z&to=${new Date(e.lastFailure + 3_600_000).toISOString().slice(0, 16)}Z&server=${encodeURIComponent(e.server)}`
  }

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const token = new FormData(ev.target).get('token')
    if (token) sessionStorage.setItem(TOKEN_KEY, String(token))
    load().catch((err) => show('error', err.message))
  })
  load().catch((err) => show('error', err.message))
})()
