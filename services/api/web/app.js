/* connrca dashboard: plain JS over /api/v1, charts by uPlot (served locally from node_modules). */
;(() => {
  const uPlot = window.uPlot

  const CATEGORIES = {
    firewall_deny: { label: 'Firewall deny', color: '#ff5c5c' },
    auth_fail: { label: 'Auth failure', color: '#ff9f43' },
    tls_reject: { label: 'TLS rejected', color: '#b07cff' },
    limit_reached: { label: 'Limit reached', color: '#ffd43b' },
    transient: { label: 'Transient', color: '#4cc2ff' },
    user_error: { label: 'User error', color: '#3dd68c' },
    network: { label: 'Network', color: '#8b95a5' },
  }
  const SERVER_COLORS = ['#4cc2ff', '#ff9f43', '#b07cff', '#3dd68c', '#ff6b9a', '#ffd43b', '#2ee6d6', '#a3b1c6']
  const RANGES = { '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000, '30d': 2_592_000_000 }
  const TOKEN_KEY = 'connrca.token'

  const $ = (id) => document.getElementById(id)
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue
      if (k === 'class') node.className = v
      else if (k === 'style') Object.assign(node.style, v)
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
      else node.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c)
    return node
  }
  const fmtInt = new Intl.NumberFormat('en-US')
  const fmtCompact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 })
  const pct = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(r < 0.1 ? 2 : 1)}%`)
  const utc = (t, withDate) => {
    const iso = new Date(t).toISOString()
    return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16)
  }
  const ago = (t) => {
    const s = Math.max(0, (Date.now() - t) / 1000)
    if (s < 90) return `${Math.round(s)} s ago`
    if (s < 5400) return `${Math.round(s / 60)} min ago`
    if (s < 172800) return `${Math.round(s / 3600)} h ago`
    return `${Math.round(s / 86400)} d ago`
  }
  const catLabel = (c) => CATEGORIES[c]?.label ?? c
  const catColor = (c) => CATEGORIES[c]?.color ?? '#8b95a5'

  // ---------------------------------------------------------------- token

  // A `?token=` in the address is moved into sessionStorage and out of the address bar,
  // so shared links never carry it.
  const url0 = new URL(location.href)
  if (url0.searchParams.has('token')) {
    sessionStorage.setItem(TOKEN_KEY, url0.searchParams.get('token'))
    url0.searchParams.delete('token')
    history.replaceState(null, '', url0.pathname + url0.search)
  }

  class AuthError extends Error {}

  async function api(path, params) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== '') q.set(k, v)
    const headers = { accept: 'application/json' }
    const token = sessionStorage.getItem(TOKEN_KEY)
    if (token) headers.authorization = `Bearer ${token}`
    const res = await fetch(`${path}?${q}`, { headers })
    if (res.status === 401) throw new AuthError('token required')
    const body = await res.json().catch(() => null)
    if (!res.ok) throw new Error(body?.error?.message ?? `${path}: HTTP ${res.status}`)
    return body
  }

  // ---------------------------------------------------------------- state in the URL

  function readState() {
    const p = new URLSearchParams(location.search)
    const range = p.get('range') || (p.get('from') ? 'custom' : '24h')
    return {
      range: RANGES[range] || range === 'custom' ? range : '24h',
      from: p.get('from') || '',
      to: p.get('to') || '',
      server: p.get('server') || '',
      category: p.get('category') || '',
      refresh: p.has('refresh') ? Number(p.get('refresh')) || 0 : 30,
    }
  }

  function writeState(s) {
    const p = new URLSearchParams()
    if (s.range === 'custom') {
      p.set('from', s.from)
      if (s.to) p.set('to', s.to)
    } else if (s.range !== '24h') p.set('range', s.range)
    if (s.server) p.set('server', s.server)
    if (s.category) p.set('category', s.category)
    if (s.refresh !== 30) p.set('refresh', String(s.refresh))
    const qs = p.toString()
    history.replaceState(null, '', qs ? `?${qs}` : location.pathname)
  }

  let state = readState()

  function timeParams() {
    if (state.range === 'custom') return { from: state.from, to: state.to || undefined }
    return { from: `now-${state.range}` }
  }

  function setFilter(patch) {
    state = { ...state, ...patch }
    writeState(state)
    syncControls()
    load()
  }

  // ---------------------------------------------------------------- controls

  const fRange = $('f-range')
  const fServer = $('f-server')
  const fCategory = $('f-category')
  const fRefresh = $('f-refresh')

  for (const [key, c] of Object.entries(CATEGORIES)) fCategory.append(el('option', { value: key }, c.label))

  function syncControls() {
    fRange.value = state.range
    fRange.querySelector('option[value=custom]').hidden = state.range !== 'custom'
    if (state.server && ![...fServer.options].some((o) => o.value === state.server)) {
      fServer.append(el('option', { value: state.server }, state.server))
    }
    fServer.value = state.server
    fCategory.value = state.category
    if (![...fRefresh.options].some((o) => Number(o.value) === state.refresh)) {
      fRefresh.append(el('option', { value: state.refresh }, `${state.refresh} s`))
    }
    fRefresh.value = String(state.refresh)
  }

  fRange.addEventListener('change', () => setFilter({ range: fRange.value, from: '', to: '' }))
  fServer.addEventListener('change', () => setFilter({ server: fServer.value }))
  fCategory.addEventListener('change', () => setFilter({ category: fCategory.value }))
  fRefresh.addEventListener('change', () => {
    setFilter({ refresh: Number(fRefresh.value) })
    schedule()
  })
  $('filters').addEventListener('submit', (e) => e.preventDefault())
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const token = new FormData(e.target).get('token')
    if (token) sessionStorage.setItem(TOKEN_KEY, String(token))
    $('auth').hidden = true
    load()
  })

  function fillServers(rows) {
    const keep = fServer.value
    const names = rows.map((r) => r.value)
    if (state.server && !names.includes(state.server)) names.push(state.server)
    fServer.replaceChildren(
      el('option', { value: '' }, 'All servers'),
      ...names.map((n) => el('option', { value: n }, n)),
    )
    fServer.value = keep
  }

  // ---------------------------------------------------------------- charts

  const charts = {}
  const axisStyle = {
    stroke: '#8b95a5',
    grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 },
    ticks: { stroke: 'rgba(255,255,255,0.1)', width: 1, size: 4 },
    font: '11px system-ui, sans-serif',
  }
  const tzUtc = (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC')
  // UTC, 24 h clock: the same times the RCA texts use; dates at midnight
  const timeTicks = (_u, splits) =>
    splits.map((s) => {
      const iso = new Date(s * 1000).toISOString()
      return iso.slice(11, 16) === '00:00' ? iso.slice(5, 10) : iso.slice(11, 16)
    })
  const xAxis = { ...axisStyle, values: timeTicks }
  /** Ratio buckets: wide enough that a quiet 5 minutes does not read as a 100% failure spike. */
  const RATIO_STEP = { '1h': '5m', '6h': '15m', '24h': '30m', '7d': '3h', '30d': '12h' }

  function chartWidth(node) {
    return Math.max(280, node.clientWidth)
  }

  function replaceChart(key, node, opts, data) {
    charts[key]?.destroy()
    node.replaceChildren()
    charts[key] = new uPlot(opts, data, node)
  }

  function emptyChart(key, node, text) {
    charts[key]?.destroy()
    delete charts[key]
    node.replaceChildren(el('div', { class: 'empty' }, text))
  }

  function renderFailures(res) {
    const node = $('chart-failures')
    const legend = $('legend')
    const series = res.series.filter((s) => s.total > 0)
    legend.replaceChildren(
      ...series.map((s) =>
        el(
          'button',
          {
            type: 'button',
            class: state.category === s.key ? 'active' : '',
            title: state.category === s.key ? 'show all categories' : `only ${catLabel(s.key)}`,
            onclick: () => setFilter({ category: state.category === s.key ? '' : s.key }),
          },
          el('span', { class: 'swatch', style: { background: catColor(s.key) } }),
          catLabel(s.key),
          el('span', { class: 'n' }, fmtCompact.format(s.total)),
        ),
      ),
    )
    if (!series.length) return emptyChart('failures', node, 'No failed connection attempts in this range.')

    // Stack: each drawn series is the running sum; drawn top-down so lower fills overpaint.
    const n = res.times.length
    const acc = new Array(n).fill(0)
    const stacked = series.map((s) => s.values.map((v, i) => (acc[i] += v)))
    const order = series.map((_, i) => i).reverse()
    const xs = res.times.map((t) => t / 1000)
    const bars = uPlot.paths.bars({ size: [0.86, 28], align: 1 })
    const opts = {
      width: chartWidth(node),
      height: 280,
      tzDate: tzUtc,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, max * 1.08)] } },
      axes: [xAxis, { ...axisStyle, size: 48, values: (_u, ticks) => ticks.map((v) => fmtCompact.format(v)) }],
      series: [
        {},
        ...order.map((i) => ({
          label: catLabel(series[i].key),
          stroke: catColor(series[i].key),
          fill: catColor(series[i].key),
          width: 0,
          paths: bars,
          points: { show: false },
        })),
      ],
      hooks: {
        setCursor: [
          (u) => {
            const tip = $('tooltip')
            const idx = u.cursor.idx
            if (idx === null || idx === undefined || u.cursor.left < 0) {
              tip.hidden = true
              return
            }
            const rows = series
              .map((s) => ({ s, v: s.values[idx] }))
              .filter((r) => r.v > 0)
              .reverse()
            const total = rows.reduce((a, r) => a + r.v, 0)
            tip.replaceChildren(
              el('div', { class: 't' }, `${utc(res.times[idx], true)} – ${utc(res.times[idx] + res.step)} UTC`),
              ...rows.map((r) =>
                el(
                  'div',
                  { class: 'row' },
                  el('span', { class: 'swatch', style: { background: catColor(r.s.key) } }),
                  catLabel(r.s.key),
                  el('b', {}, fmtInt.format(r.v)),
                ),
              ),
              el('div', { class: 'row' }, 'Total', el('b', {}, fmtInt.format(total))),
            )
            tip.hidden = false
            const box = u.over.getBoundingClientRect()
            const card = node.parentElement.getBoundingClientRect()
            const left = box.left - card.left + u.cursor.left + 14
            tip.style.left = `${Math.min(left, card.width - 200)}px`
            tip.style.top = `${box.top - card.top + 10}px`
          },
        ],
      },
    }
    replaceChart('failures', node, opts, [xs, ...order.map((i) => stacked[i])])
    node.onmouseleave = () => {
      $('tooltip').hidden = true
    }
  }

  function renderRatio(res) {
    const node = $('chart-ratio')
    const lines = [
      { label: 'All servers', color: '#e6e9ef', values: res.overall.values, width: 2.2, ratio: res.overall.ratio },
      ...res.servers.map((s, i) => ({
        label: s.server,
        color: SERVER_COLORS[i % SERVER_COLORS.length],
        values: s.values,
        width: 1.4,
        ratio: s.ratio,
      })),
    ]
    $('ratio-legend').replaceChildren(
      ...lines.map((l) =>
        el(
          'span',
          { class: 'badge', title: `${l.label}: ${pct(l.ratio)} over the range` },
          el('span', { class: 'swatch', style: { background: l.color, marginRight: '5px' } }),
          `${l.label} ${pct(l.ratio)}`,
        ),
      ),
    )
    if (!res.overall.attempts) return emptyChart('ratio', node, 'No connection attempts logged in this range.')
    const opts = {
      width: chartWidth(node),
      height: 230,
      tzDate: tzUtc,
      legend: { show: false },
      cursor: { points: { size: 5 }, drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.min(1, Math.max(0.05, (max || 0) * 1.15))] },
      },
      axes: [
        xAxis,
        { ...axisStyle, size: 48, values: (_u, ticks) => ticks.map((v) => `${Math.round(v * 1000) / 10}%`) },
      ],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: l.width,
          spanGaps: false,
          points: { show: false },
        })),
      ],
    }
    replaceChart('ratio', node, opts, [res.times.map((t) => t / 1000), ...lines.map((l) => l.values)])
  }

  function renderBars(node, res, onPick, emptyText) {
    const max = Math.max(1, ...res.rows.map((r) => r.failures))
    if (!res.rows.length) return node.replaceChildren(el('li', { class: 'empty' }, emptyText))
    node.replaceChildren(
      ...res.rows.map((r) => {
        const parts = Object.entries(r.byCategory).sort((a, b) => b[1] - a[1])
        const share = res.total ? ` · ${((r.failures / res.total) * 100).toFixed(1)}%` : ''
        return el(
          'li',
          {
            class: onPick ? 'clickable' : '',
            title: `${r.value}: ${parts.map(([c, n]) => `${catLabel(c)} ${fmtInt.format(n)}`).join(', ')}${
              r.lastFailure ? ` · last ${ago(r.lastFailure)}` : ''
            }`,
            onclick: onPick ? () => onPick(r.value) : undefined,
          },
          el('span', { class: 'name mono' }, r.value, r.servers > 1 ? el('small', {}, `${r.servers} servers`) : null),
          el(
            'span',
            { class: 'track' },
            ...parts.map(([c, n]) => el('span', { style: { width: `${(n / max) * 100}%`, background: catColor(c) } })),
          ),
          el('span', { class: 'n', title: share }, fmtCompact.format(r.failures)),
        )
      }),
    )
  }

  /** The ranked hypotheses: the first with its evidence numbers, the others as alternatives. */
  function diagnosis(e) {
    const hs = e.hypotheses || []
    if (!hs.length) return null
    const item = (h, i) =>
      el(
        'li',
        { class: `hypothesis${i === 0 ? ' top' : ''}${h.security ? ' security' : ''}`, 'data-hypothesis': h.id },
        el('strong', {}, i === 0 ? 'Likely: ' : 'Or: '),
        h.security ? el('span', { class: 'badge critical' }, 'security') : null,
        h.title,
        el('span', { class: 'score' }, ` (score ${h.score})`),
        i === 0
          ? el(
              'div',
              { class: 'evidence mono' },
              Object.entries(h.evidence)
                .map(([k, v]) => `${k} ${fmtInt.format(v)}`)
                .join(' · '),
            )
          : null,
      )
    return el('ul', { class: 'diagnosis' }, ...hs.map(item))
  }

  /** `category fleetKey` of an incident whose top hypothesis names what other servers may share. */
  const fleetOf = (e) => {
    const k = e.hypotheses?.[0]?.fleetKey
    return k ? `${e.category} ${k}` : null
  }
  const FLEET_VERB = {
    firewall_deny: (v, s) => `${v} denied by ${s}`,
    auth_fail: (v, s) => `logins failing for ${v} on ${s}`,
    tls_reject: (v, s) => `TLS refused for ${v} by ${s}`,
    limit_reached: (v, s) => `${v} out of connection slots on ${s}`,
  }

  /** Incidents of several servers with the same fleet signature: one card, shown before the others. */
  function fleetCard(key, events, article) {
    const [category, k] = key.split(' ')
    const value = k.slice(k.indexOf(':') + 1)
    const servers = new Set(events.map((e) => e.server))
    const first = Math.min(...events.map((e) => e.firstFailure))
    const verb = FLEET_VERB[category] || ((v, s) => `${category} for ${v} on ${s}`)
    const title = `${verb(value, `${servers.size} servers`)} since ${utc(first, true)} UTC`
    const open = events.some((e) => e.status !== 'resolved')
    // the per-server incidents are the evidence: each keeps its own card inside the fleet's
    return el(
      'section',
      { class: `fleet ${open ? 'open' : 'resolved'}`, 'data-fleet': key },
      el('header', {}, el('h3', {}, title), el('span', { class: 'badge' }, 'fleet')),
      el('p', {}, `Likely: ${events[0].hypotheses[0].title}.`),
      ...events.map(article),
    )
  }

  function renderFeed(res) {
    const node = $('feed')
    $('rca-count').textContent = res.total ? `${res.total} incident${res.total === 1 ? '' : 's'}` : ''
    if (!res.events.length) return node.replaceChildren(el('div', { class: 'empty' }, 'No incidents in this range.'))
    const fleets = new Map()
    for (const e of res.events) {
      const k = fleetOf(e)
      if (k) fleets.set(k, [...(fleets.get(k) || []), e])
    }
    for (const [k, list] of fleets) if (new Set(list.map((e) => e.server)).size < 2) fleets.delete(k)
    const inFleet = new Set([...fleets.values()].flat().map((e) => e.id))
    node.replaceChildren(
      ...[...fleets].map(([k, list]) => fleetCard(k, list, article)),
      ...res.events.filter((e) => !inFleet.has(e.id)).map(article),
    )
    function article(e) {
      const s = e.suggestion
      return el(
        'article',
        { class: `event ${e.severity}`, 'data-id': e.id },
        el(
          'header',
          {},
          el('h3', {}, e.title),
          el('span', { class: 'when', title: new Date(e.lastFailure).toISOString() }, ago(e.lastFailure)),
        ),
        el(
          'div',
          { class: 'badges' },
          el('span', { class: 'badge cat', style: { background: catColor(e.category) } }, catLabel(e.category)),
          el('span', { class: 'badge mono' }, e.server),
          el('span', { class: `badge ${e.status}` }, e.status),
          el('span', { class: 'badge' }, e.persistence),
          el('span', { class: 'badge' }, `${fmtInt.format(e.count)} failed`),
          el('span', { class: 'badge' }, `${utc(e.firstFailure, true)} – ${utc(e.lastFailure)} UTC`),
        ),
        el('p', {}, e.text),
        diagnosis(e),
        e.steps.length ? el('ol', {}, ...e.steps.map((st) => el('li', {}, st))) : null,
        s
          ? el(
              'div',
              { class: 'suggest' },
              'Suggested rule: ',
              el('code', {}, s.cidr || `${s.startIp} – ${s.endIp}`),
              s.note ? ` — ${s.note}` : '',
            )
          : null,
      )
    }
  }

  function renderKpis(failures, ratio, servers, rca, health) {
    $('k-failures').textContent = fmtInt.format(failures.total)
    const peak = failures.times.length
      ? failures.times.reduce(
          (best, t, i) => {
            const v = failures.series.reduce((a, s) => a + s.values[i], 0)
            return v > best.v ? { t, v } : best
          },
          { t: 0, v: 0 },
        )
      : { v: 0 }
    $('k-failures-sub').textContent = peak.v ? `peak ${fmtInt.format(peak.v)} at ${utc(peak.t, true)} UTC` : 'none'
    const o = ratio.overall
    // without log_connections the server logs failures but not the attempts: no ratio to show
    const counted = o.attempts >= o.failures && o.attempts > 0
    const r = counted ? o.ratio : null
    const kRatio = $('k-ratio')
    kRatio.textContent = pct(r)
    kRatio.className = `value ${r === null ? '' : r >= 0.1 ? 'bad' : r >= 0.02 ? 'warn' : 'ok'}`
    const n = (v, word) => `${fmtCompact.format(v)} ${word}${v === 1 ? '' : 's'}`
    $('k-ratio-sub').textContent = counted
      ? `${fmtCompact.format(o.failures)} of ${n(o.attempts, 'attempt')}`
      : o.failures
        ? `${n(o.failures, 'failure')}; attempts not logged (log_connections off)`
        : 'no attempts logged'
    const open = rca.events.filter((e) => e.status !== 'resolved')
    const kOpen = $('k-open')
    kOpen.textContent = String(open.length)
    kOpen.className = `value ${open.some((e) => e.severity === 'critical') ? 'bad' : open.length ? 'warn' : 'ok'}`
    $('k-open-sub').textContent = `${rca.total} in range`
    const affected = servers.rows.length
    $('k-servers').textContent = String(affected)
    $('k-servers-sub').textContent = servers.rows[0] ? `worst: ${servers.rows[0].value}` : ''
    const kPipe = $('k-pipeline')
    if (!health) {
      kPipe.textContent = '–'
      return
    }
    const lag = health.store.lagMs
    kPipe.textContent = health.status === 'ok' ? 'OK' : health.status
    kPipe.className = `value ${health.status === 'ok' ? 'ok' : 'warn'}`
    const dl = health.store.deadLetters.last24h
    const late = (health.pipeline?.stages ?? []).reduce((n, s) => n + (s.lateDropped ?? 0), 0)
    $('k-pipeline-sub').textContent =
      `${lag === null ? 'no events yet' : `newest ${ago(Date.now() - lag)}`} · ${dl} dead letter${dl === 1 ? '' : 's'}/24h` +
      (late ? ` · ${late} late (dropped)` : '')
  }

  // ---------------------------------------------------------------- load loop

  let loading = 0
  async function load() {
    const seq = ++loading
    const status = $('status')
    status.className = 'status loading'
    status.textContent = 'loading…'
    const range = timeParams()
    const filters = { ...range, server: state.server, category: state.category }
    try {
      const [failures, ratio, servers, clients, rca, allServers, health] = await Promise.all([
        api('/api/v1/failures', filters),
        api('/api/v1/failure-ratio', { ...filters, limit: 4, step: RATIO_STEP[state.range] }),
        api('/api/v1/top', { ...filters, by: 'server', limit: 200 }),
        api('/api/v1/top', { ...filters, by: 'client', limit: 8 }),
        api('/api/v1/rca', { ...filters, limit: 30 }),
        api('/api/v1/top', { ...range, by: 'server', limit: 200 }),
        api('/api/v1/health', {}).catch(() => null),
      ])
      if (seq !== loading) return
      $('error').hidden = true
      fillServers(allServers.rows)
      renderFailures(failures)
      renderRatio(ratio)
      renderBars(
        $('top-servers'),
        { ...servers, rows: servers.rows.slice(0, 8) },
        (v) => setFilter({ server: state.server === v ? '' : v }),
        'No failures.',
      )
      renderBars($('top-clients'), clients, null, 'No client addresses logged.')
      renderFeed(rca)
      renderKpis(failures, ratio, servers, rca, health)
      $('footer-range').textContent =
        `${new Date(failures.from).toISOString().slice(0, 16).replace('T', ' ')} – ` +
        `${new Date(failures.to).toISOString().slice(0, 16).replace('T', ' ')} UTC · ${Math.round(failures.step / 60000)} min buckets`
      status.className = 'status'
      status.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`
      document.body.dataset.loaded = String(seq)
    } catch (err) {
      if (seq !== loading) return
      status.className = 'status'
      status.textContent = 'not updated'
      if (err instanceof AuthError) {
        $('auth').hidden = false
        return
      }
      const box = $('error')
      box.textContent = `Could not load: ${err.message}`
      box.hidden = false
    }
  }

  let timer = 0
  function schedule() {
    clearInterval(timer)
    if (state.refresh > 0) {
      timer = setInterval(() => {
        if (!document.hidden) load()
      }, state.refresh * 1000)
    }
  }

  let resizeTimer = 0
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => {
      for (const [key, chart] of Object.entries(charts)) {
        const node = key === 'failures' ? $('chart-failures') : $('chart-ratio')
        chart.setSize({ width: chartWidth(node), height: chart.height })
      }
    }, 120)
  })
  window.addEventListener('popstate', () => {
    state = readState()
    syncControls()
    load()
  })

  syncControls()
  load()
  schedule()
})()
