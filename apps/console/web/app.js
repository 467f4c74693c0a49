// am-console's page: plain DOM, no framework, no build step, nothing from a CDN. Every value from
// the bus is written with textContent (never as HTML), so a message cannot inject markup.

const $ = (selector) => document.querySelector(selector)
const LIVE_ROWS = 500

const state = {
  info: null,
  rows: [],
  picked: new Set(),
  openId: null,
  live: null,
  paused: false,
  liveSeen: [],
  liveItems: [],
  dropped: 0,
  pausedCount: 0,
}

// ---- helpers ---------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value
    else if (key.startsWith('data-')) node.setAttribute(key, value)
    else node[key] = value
  }
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')))
  return node
}

function status(text, kind = '') {
  const box = $('#status')
  box.textContent = text
  box.className = kind
}

async function api(path, body) {
  const init =
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
  const response = await fetch(path, init)
  let data
  try {
    data = await response.json()
  } catch {
    throw new Error(`${path}: the console answered ${response.status} without JSON`)
  }
  if (!response.ok) throw new Error(data.error ?? `${path}: ${response.status}`)
  return data
}

/** A value as the server made it (see view.ts), written out faithfully: big integers, bytes, dates, maps. */
function show(value, indent = '') {
  if (value === null) return 'null'
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    const inner = `${indent}  `
    return `[\n${value.map((item) => inner + show(item, inner)).join(',\n')}\n${indent}]`
  }
  if (typeof value === 'object') {
    if ('$bigint' in value) return `${value.$bigint}n`
    if ('$bytes' in value) {
      const shown = value.$bytes.length / 2
      return `<bytes ${value.length}: ${value.$bytes}${shown < value.length ? `… (${value.length - shown} more)` : ''}>`
    }
    if ('$date' in value) return `Date(${value.$date})`
    if ('$number' in value) return value.$number
    if ('$undefined' in value) return 'undefined'
    if ('$map' in value) {
      const inner = `${indent}  `
      return `Map {\n${value.$map.map(([k, v]) => `${inner}${show(k, inner)} => ${show(v, inner)}`).join(',\n')}\n${indent}}`
    }
    const keys = Object.keys(value)
    if (keys.length === 0) return '{}'
    const inner = `${indent}  `
    return `{\n${keys.map((key) => `${inner}${JSON.stringify(key)}: ${show(value[key], inner)}`).join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value)
}

function short(value, max = 120) {
  const text = show(value).replace(/\s+/g, ' ')
  return text.length > max ? `${text.slice(0, max)}…` : text
}

function bytes(size) {
  return size < 1024
    ? `${size} B`
    : size < 1048576
      ? `${(size / 1024).toFixed(1)} KiB`
      : `${(size / 1048576).toFixed(1)} MiB`
}

function time(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—'
}

function who() {
  return $('#who').value.trim()
}

// ---- views -----------------------------------------------------------------------------------

function go(view) {
  status('')
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`
  for (const tab of document.querySelectorAll('.tab')) {
    if (tab.dataset.view === view) tab.setAttribute('aria-current', 'page')
    else tab.removeAttribute('aria-current')
  }
  if (view === 'queues') loadQueues()
  if (view === 'live' && !state.live) watch()
}

// ---- dead letters ----------------------------------------------------------------------------

function deadFilter() {
  const filter = {}
  const put = (key, value) => {
    if (value.trim() !== '') filter[key] = value.trim()
  }
  put('key', $('#f-key').value)
  put('queue', $('#f-queue').value)
  put('reason', $('#f-reason').value)
  if ($('#f-since').value) filter.since = new Date($('#f-since').value).toISOString()
  if ($('#f-until').value) filter.until = new Date($('#f-until').value).toISOString()
  return filter
}

async function loadDead() {
  const dlq = $('#dlq').value
  const query = new URLSearchParams({ dlq, ...deadFilter() })
  status(`Listing ${dlq}…`)
  try {
    const list = await api(`/api/dead-letters?${query}`)
    state.rows = list.rows
    state.picked = new Set([...state.picked].filter((id) => list.rows.some((row) => row.id === id)))
    renderDead()
    $('#dead-count').textContent =
      `${list.rows.length} shown of ${list.ready} in ${dlq}${list.truncated ? ` (only the first ${state.info.limits.maxMessages} are read)` : ''}`
    status(`${dlq}: ${list.ready} dead letter${list.ready === 1 ? '' : 's'}; listing leaves them in place, in order.`)
  } catch (error) {
    status(error.message, 'error')
  }
}

function renderDead() {
  const body = $('#dead tbody')
  body.replaceChildren(
    ...state.rows.map((row) => {
      const pick = el('input', { type: 'checkbox', className: 'pick', checked: state.picked.has(row.id) })
      pick.setAttribute('aria-label', `select ${row.routingKey}`)
      pick.addEventListener('click', (event) => {
        event.stopPropagation()
        if (pick.checked) state.picked.add(row.id)
        else state.picked.delete(row.id)
        updateButtons()
      })
      const conversation = row.conversationId
        ? el('a', { href: '#', className: 'conv' }, row.conversationId)
        : el('span', { className: 'muted' }, '—')
      if (row.conversationId) {
        conversation.addEventListener('click', (event) => {
          event.preventDefault()
          event.stopPropagation()
          openConversation(row.conversationId)
        })
      }
      const tr = el(
        'tr',
        { 'data-id': row.id, className: row.id === state.openId ? 'open' : '' },
        el('td', {}, pick),
        el('td', { className: 'mono' }, time(row.diedAt)),
        el('td', { className: 'mono' }, row.queue ?? '—'),
        el('td', { className: 'key' }, row.routingKey),
        el('td', { className: `kind-${row.kind ?? 'none'}` }, row.kind ?? '—'),
        el('td', {}, row.reason ?? '—'),
        el('td', {}, row.deaths),
        el('td', { className: 'mono' }, conversation),
        el('td', {}, bytes(row.size)),
      )
      tr.addEventListener('click', () => openDead(row.id))
      return tr
    }),
  )
  updateButtons()
}

function updateButtons() {
  $('#replay-selected').disabled = state.picked.size === 0
  $('#delete-selected').disabled = state.picked.size === 0
  $('#pick-all').checked = state.rows.length > 0 && state.rows.every((row) => state.picked.has(row.id))
}

async function openDead(id) {
  state.openId = id
  for (const tr of document.querySelectorAll('#dead tbody tr')) tr.classList.toggle('open', tr.dataset.id === id)
  try {
    const detail = await api(`/api/dead-letters/${encodeURIComponent(id)}?dlq=${encodeURIComponent($('#dlq').value)}`)
    const { row } = detail
    $('#detail').hidden = false
    $('#detail-title').textContent = `${row.kind ?? 'message'} ${row.routingKey}`
    const summary = [
      ['died in', row.queue ?? '—'],
      ['first published to', row.exchange === null ? '—' : JSON.stringify(row.exchange)],
      ['reason', row.reason ?? '—'],
      ['deaths', row.deaths],
      ['conversation', row.conversationId ?? '—'],
      ['content type', row.contentType ?? '(none)'],
      ['size', `${row.size} bytes`],
      ['in the DLQ as', `${JSON.stringify(detail.exchangeInDlq)} / ${detail.routingKeyInDlq}`],
    ]
    $('#detail-summary').replaceChildren(...summary.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))
    const payload = $('#payload')
    if (detail.payloadError !== undefined) {
      payload.className = 'bad'
      payload.textContent = `Undecodable: ${detail.payloadError}\n${show(detail.body)}`
    } else {
      payload.className = ''
      payload.textContent = show(detail.payload)
    }
    $('#properties').textContent = show(detail.properties)
    $('#headers').textContent = show(detail.headers)
    $('#history tbody').replaceChildren(
      ...detail.history.map((death) =>
        el(
          'tr',
          {},
          el('td', { className: 'mono' }, time(death.time)),
          el('td', { className: 'mono' }, death.queue),
          el('td', {}, death.reason),
          el('td', {}, death.count),
          el('td', { className: 'mono' }, JSON.stringify(death.exchange)),
          el('td', { className: 'key' }, death.routingKeys.join(', ')),
        ),
      ),
    )
  } catch (error) {
    status(error.message, 'error')
  }
}

function dialog(title, text, rows) {
  $('#dialog-title').textContent = title
  $('#dialog-text').textContent = text
  $('#plan').hidden = rows.length === 0
  $('#plan tbody').replaceChildren(...rows)
  $('#dialog').showModal()
  return new Promise((resolve) => {
    const done = (answer) => {
      $('#confirm').onclick = null
      $('#cancel').onclick = null
      $('#dialog').close()
      resolve(answer)
    }
    $('#confirm').onclick = () => done(true)
    $('#cancel').onclick = () => done(false)
  })
}

function route(to) {
  if (!to) return '—'
  return to.exchange === '' ? `queue ${to.routingKey}` : `exchange "${to.exchange}" / ${to.routingKey}`
}

async function replay(selection) {
  const dlq = $('#dlq').value
  const mode = $('#mode').value
  try {
    status('Asking where each would go…')
    const { plan } = await api('/api/plan', { dlq, mode, ...selection })
    if (plan.length === 0) return status('Nothing selected is in the queue any more.', 'error')
    const rows = plan.map((entry) =>
      el(
        'tr',
        { 'data-id': entry.id },
        el('td', { className: 'key' }, entry.routingKey),
        el('td', {}, entry.kind ?? '—'),
        el(
          'td',
          { className: entry.action === 'would-replay' ? '' : 'bad' },
          entry.action === 'would-replay' ? 'replay' : entry.action,
        ),
        el('td', { className: 'mono' }, route(entry.to)),
        el('td', {}, entry.why ?? entry.reason ?? ''),
      ),
    )
    const going = plan.filter((entry) => entry.action === 'would-replay').length
    status('')
    const ok = await dialog(
      `Replay ${plan.length} dead letter${plan.length === 1 ? '' : 's'} from ${dlq}?`,
      `${going} will be replayed as am-resurrect decides below; the others stay in ${dlq}. Each dead letter leaves the queue only once the broker confirmed its copy.`,
      rows,
    )
    if (!ok) return status('Replay cancelled: nothing changed.')
    status('Replaying…')
    const result = await api('/api/replay', { dlq, mode, who: who(), ...selection })
    const failed = result.outcomes.filter((entry) => entry.action === 'failed')
    status(
      `Done, confirmed by the broker: ${result.summary}.${failed.length > 0 ? ` Failed: ${failed.map((entry) => `${entry.routingKey}: ${entry.reason}`).join('; ')}` : ''}`,
      failed.length > 0 ? 'error' : 'ok',
    )
    state.picked.clear()
    $('#detail').hidden = true
    await loadDead()
    status(`Done, confirmed by the broker: ${result.summary}.`, failed.length > 0 ? 'error' : 'ok')
  } catch (error) {
    status(error.message, 'error')
  }
}

async function remove() {
  const dlq = $('#dlq').value
  const ids = [...state.picked]
  const rows = state.rows
    .filter((row) => state.picked.has(row.id))
    .map((row) =>
      el(
        'tr',
        {},
        el('td', { className: 'key' }, row.routingKey),
        el('td', {}, row.kind ?? '—'),
        el('td', { className: 'bad' }, 'delete'),
        el('td', {}, row.queue ?? '—'),
        el('td', {}, row.reason ?? ''),
      ),
    )
  const ok = await dialog(
    `Delete ${ids.length} dead letter${ids.length === 1 ? '' : 's'} from ${dlq}?`,
    'They are removed for good.',
    rows,
  )
  if (!ok) return status('Delete cancelled: nothing changed.')
  try {
    const result = await api('/api/delete', { dlq, ids, who: who() })
    state.picked.clear()
    $('#detail').hidden = true
    await loadDead()
    status(`Done, confirmed by the broker: ${result.summary}.`, 'ok')
  } catch (error) {
    status(error.message, 'error')
  }
}

// ---- live traffic ----------------------------------------------------------------------------

function watch() {
  state.live?.close()
  const query = new URLSearchParams()
  for (const origin of ['events', 'commands', 'configurations', 'logs']) {
    const value = $(`#l-${origin}`).value.trim()
    if (value) query.set(origin, value)
  }
  for (const field of $('#l-fields').value.split(/\s+/).filter(Boolean)) query.append('field', field)
  if ($('#l-level').value) query.set('level', $('#l-level').value)
  const source = new EventSource(`/api/live?${query}`)
  state.live = source
  source.onmessage = (event) => {
    state.liveSeen.push(Date.now())
    if (state.paused) {
      state.pausedCount += 1
      return
    }
    const item = JSON.parse(event.data)
    state.liveItems.push(item)
    if (state.liveItems.length > LIVE_ROWS) state.liveItems.shift()
    const body = $('#live tbody')
    body.prepend(liveRow(item))
    while (body.children.length > LIVE_ROWS) body.lastElementChild.remove()
  }
  source.addEventListener('dropped', (event) => {
    state.dropped += Number(event.data)
  })
  source.onerror = () => status('Live traffic: connection lost, retrying…', 'error')
  source.onopen = () => status('Watching the live traffic.')
}

function liveRow(item) {
  const summary =
    item.stream === 'log'
      ? (item.payload?.short_message ?? short(item.payload))
      : item.error
        ? `${item.error}${item.body ? ` ${short(item.body, 60)}` : ''}`
        : short(item.payload)
  const tr = el(
    'tr',
    { 'data-seq': item.seq },
    el('td', { className: 'mono' }, time(item.at)),
    el('td', { className: `kind-${item.stream}` }, item.stream),
    el('td', { className: 'key' }, item.routingKey),
    el('td', { className: 'mono' }, item.conversationId || '—'),
    el('td', { className: item.error ? 'bad' : '' }, summary),
  )
  tr.addEventListener('click', () => {
    $('#live-detail').hidden = false
    $('#live-item').textContent = show(item)
  })
  return tr
}

setInterval(() => {
  const now = Date.now()
  state.liveSeen = state.liveSeen.filter((at) => now - at < 1000)
  const rate = $('#live-rate')
  if (rate) {
    rate.textContent = `${state.liveSeen.length}/s · ${state.liveItems.length} kept (last ${LIVE_ROWS})${state.paused ? ` · paused, ${state.pausedCount} not shown` : ''}${state.dropped ? ` · ${state.dropped} dropped by the server` : ''}`
  }
}, 1000)

// ---- conversation ----------------------------------------------------------------------------

function openConversation(id) {
  $('#c-id').value = id
  go('conversation')
  loadConversation()
}

async function loadConversation() {
  const id = $('#c-id').value.trim()
  if (!id) return
  try {
    const data = await api(`/api/conversations/${encodeURIComponent(id)}`)
    const entries = [
      ...data.live.map((item) => ({ at: item.at, dead: false, item })),
      ...data.dead.map((row) => ({ at: row.diedAt ?? '', dead: true, row })),
    ].sort((a, b) => a.at.localeCompare(b.at))
    $('#timeline').replaceChildren(
      ...entries.map((entry) => {
        if (entry.dead) {
          const { row } = entry
          return el(
            'li',
            { className: 'dead' },
            el('span', { className: 'when' }, time(row.diedAt)),
            `✝ ${row.kind ?? 'message'} ${row.routingKey} died in ${row.queue ?? '?'} (${row.reason ?? '?'}, ${row.deaths}×), now in ${row.dlq}`,
          )
        }
        const { item } = entry
        const what = {
          event: `event ${item.routingKey} published on "${item.exchange}"`,
          command: `command ${item.routingKey} → its service, reply to ${item.replyTo}`,
          result: `result ${item.status} → ${item.routingKey}`,
          configuration: `configuration ${item.routingKey}`,
          log: `log ${item.routingKey}: ${item.payload?.short_message ?? ''}`,
          malformed: `malformed ${item.routingKey}: ${item.error ?? ''}`,
        }[item.stream]
        return el('li', {}, el('span', { className: 'when' }, time(item.at)), what)
      }),
    )
    status(`Conversation ${id}: ${data.live.length} seen live since the console started, ${data.dead.length} dead.`)
  } catch (error) {
    status(error.message, 'error')
  }
}

// ---- queues ----------------------------------------------------------------------------------

async function loadQueues() {
  try {
    const data = await api('/api/queues')
    const rows = []
    for (const service of data.services) {
      for (const kind of ['events', 'commands']) {
        const queue = service[kind]
        if (!queue) continue
        rows.push(
          el(
            'tr',
            { 'data-queue': queue.name },
            el('td', {}, service.service),
            el('td', { className: 'mono' }, queue.name),
            el('td', {}, queue.messages),
            el('td', {}, queue.ready),
            el('td', {}, queue.unacked),
            el('td', {}, queue.consumers),
            el('td', {}, queue.amBus),
            el(
              'td',
              {},
              `${queue.other}${queue.products.length ? ` (${queue.products.join(', ')})` : ''}${queue.unknown ? `, ${queue.unknown} not known yet` : ''}`,
            ),
            el('td', {}, queue.rates.publish.toFixed(1)),
            el('td', {}, queue.rates.deliver.toFixed(1)),
            el('td', {}, queue.rates.ack.toFixed(1)),
          ),
        )
      }
    }
    $('#services tbody').replaceChildren(...rows)
    $('#all-queues tbody').replaceChildren(
      ...data.queues.map((queue) =>
        el(
          'tr',
          {},
          el('td', { className: 'mono' }, queue.name),
          el('td', {}, queue.messages),
          el('td', {}, queue.consumers),
        ),
      ),
    )
    $('#q-note').textContent = `From the management API at ${new Date().toLocaleTimeString()}; rates are its averages.`
  } catch (error) {
    status(error.message, 'error')
  }
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => go(tab.dataset.view))
  $('#who').value = localStorage.getItem('am-console-who') ?? ''
  $('#who').addEventListener('change', () => localStorage.setItem('am-console-who', who()))
  $('#dead-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    loadDead()
  })
  $('#dlq').addEventListener('change', loadDead)
  $('#pick-all').addEventListener('change', () => {
    state.picked = $('#pick-all').checked ? new Set(state.rows.map((row) => row.id)) : new Set()
    renderDead()
  })
  $('#replay-selected').addEventListener('click', () => replay({ ids: [...state.picked] }))
  $('#replay-filter').addEventListener('click', () => replay({ filter: deadFilter() }))
  $('#delete-selected').addEventListener('click', remove)
  $('#live-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    state.liveItems = []
    $('#live tbody').replaceChildren()
    watch()
  })
  $('#live-pause').addEventListener('click', () => {
    state.paused = !state.paused
    state.pausedCount = 0
    $('#live-pause').textContent = state.paused ? 'Resume' : 'Pause'
  })
  $('#conversation-form').addEventListener('submit', (event) => {
    event.preventDefault()
    loadConversation()
  })
  $('#q-refresh').addEventListener('click', loadQueues)
  try {
    state.info = await api('/api/info')
    $('#broker').textContent = state.info.broker
    $('#dlq').replaceChildren(...state.info.dlqs.map((name) => el('option', { value: name }, name)))
    if (!state.info.live) $('#tab-live').disabled = true
  } catch (error) {
    status(error.message, 'error')
    return
  }
  go('dead')
  await loadDead()
}

start()
