import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSupervisor, type Delivery } from '@am/bus-core'
import { encode } from '@am/codec'
import { eventProperties } from '@am/protocol'
import { uniqueName, waitFor } from '@am/testkit'
import { connect } from 'amqplib'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest'
import { testConsole } from './helpers.js'
import { declareWorld, testBus } from './world.js'

const url = inject('amqpUrl')
const CHROMIUM = '/usr/bin/chromium'
/** Where the run saves its screenshots (gitignored); a few are copied by hand into docs/ for the README. */
const SHOTS = fileURLToPath(new URL('../.screenshots/', import.meta.url))

let browser: Browser
let profile: string

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  profile = await mkdtemp(join(tmpdir(), 'am-console-chromium-'))
  await mkdir(SHOTS, { recursive: true })
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    defaultViewport: { width: 1400, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (profile) await rm(profile, { recursive: true, force: true })
})

/** A page that fails the test on any script error or failed request of the console. */
async function openPage(base: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  page.on('requestfailed', (request) => {
    // The live stream is cut when the page closes; anything else failing is a bug.
    if (!request.url().includes('/api/live')) errors.push(`${request.url()}: ${request.failure()?.errorText}`)
  })
  await page.goto(base, { waitUntil: 'domcontentloaded' })
  return { page, errors }
}

const rowCount = (page: Page, table: string) => page.$$eval(`${table} tbody tr`, (rows) => rows.length)
const text = (page: Page, selector: string) => page.$eval(selector, (node) => node.textContent ?? '')

describe('the console in Chromium', () => {
  it('lists dead letters, filters, opens one, replays it: it leaves the list and reaches its service', {
    timeout: 120_000,
  }, async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus, 'billing')
    await world.killCommand('conv-a', { invoice: 42, amount: 2n ** 64n + 1n, note: 'too late' })
    await world.killEvent('conv-b', { paid: true })
    await world.killCommand('conv-c', { invoice: 43 })
    const { base, memory } = await testConsole(url, { dlqs: [world.dlq], live: true })
    const { page, errors } = await openPage(base)

    await waitFor(async () => (await rowCount(page, '#dead')) === 3, 10_000, 'three dead letters listed')
    expect(await text(page, '#dead-count')).toBe(`3 shown of 3 in ${world.dlq}`)
    await page.screenshot({ path: join(SHOTS, 'dead-letters.png') })

    // Filter on the command's key.
    await page.type('#f-key', world.command)
    await page.click('#apply')
    await waitFor(async () => (await rowCount(page, '#dead')) === 2, 10_000, 'two commands after the filter')
    const keys = await page.$$eval('#dead tbody td.key', (cells) => cells.map((cell) => cell.textContent))
    expect(keys).toEqual([world.command, world.command])

    // Open the first: the payload with its big integer, the x-death history.
    await page.click('#dead tbody tr:first-child td.key')
    await waitFor(async () => (await text(page, '#payload')).includes('"invoice": 42'), 10_000, 'the payload')
    expect(await text(page, '#payload')).toContain(`"amount": ${2n ** 64n + 1n}n`)
    expect(await rowCount(page, '#history')).toBe(1)
    expect(await text(page, '#history tbody')).toContain(world.commands)
    await page.screenshot({ path: join(SHOTS, 'dead-letter-opened.png') })

    // Select it, replay: the plan shows am-resurrect's decision before anything changes.
    await page.type('#who', 'browser-test')
    await page.click('#dead tbody tr:first-child input.pick')
    await page.click('#replay-selected')
    await page.waitForSelector('#dialog[open]')
    await waitFor(async () => (await rowCount(page, '#plan')) === 1, 10_000, 'the plan')
    expect(await text(page, '#plan tbody')).toContain(`exchange "commands" / ${world.command}`)
    expect(await world.count(world.dlq)).toBe(3)
    await page.screenshot({ path: join(SHOTS, 'replay-plan.png') })
    await page.click('#confirm')
    await waitFor(
      async () => (await text(page, '#status')).startsWith('Done, confirmed by the broker: 1 replayed'),
      10_000,
      'the replay confirmed',
    )
    await waitFor(async () => (await rowCount(page, '#dead')) === 1, 10_000, 'the replayed one gone from the list')
    expect(await world.count(world.dlq)).toBe(2)
    expect(await world.count(world.commands)).toBe(1)
    await page.screenshot({ path: join(SHOTS, 'replayed.png') })
    const audits = memory.json().filter((line) => 'audit' in (line as object)) as Array<{ audit: { who: string } }>
    expect(audits.map((line) => line.audit.who)).toEqual(['browser-test'])

    // It reached its service: an AM Bus consumer of its commands queue gets it.
    const service = createSupervisor({ urls: url, connectionName: 'am-console-test-service' })
    onTestFinished(() => service.close())
    const received: Delivery[] = []
    await service.consume(world.commands, (delivery) => {
      received.push(delivery)
      delivery.ack()
    })
    await waitFor(() => received.length === 1, 10_000, 'the replayed command at its service')
    expect([received[0]?.exchange, received[0]?.routingKey, received[0]?.headers.conversation_id]).toEqual([
      'commands',
      world.command,
      'conv-a',
    ])
    // Live traffic: an event published now shows up, with a rate.
    await page.click('#tab-live')
    const conversation = uniqueName('conv-live')
    await waitFor(
      async () => {
        await bus.publish('events', world.event, encode({ live: 1 }), eventProperties(conversation))
        return (await text(page, '#live tbody')).includes(conversation)
      },
      15_000,
      'the live event on the page',
    )
    await waitFor(async () => /^\d+\/s · [1-9]\d* kept/.test(await text(page, '#live-rate')), 5_000, 'the rate line')
    await page.screenshot({ path: join(SHOTS, 'live.png') })

    // Pause: items are counted, not shown.
    await page.click('#live-pause')
    const shown = await rowCount(page, '#live')
    await bus.publish('events', world.event, encode({ live: 2 }), eventProperties(conversation))
    await waitFor(
      async () => /paused, [1-9]\d* not shown/.test(await text(page, '#live-rate')),
      10_000,
      'the paused count',
    )
    expect(await rowCount(page, '#live')).toBe(shown)
    await page.click('#live-pause')

    // The conversation of a dead letter: its timeline, live messages and death.
    await world.killEvent(conversation, { live: 3 })
    await page.click('#tab-dead')
    await page.click('#f-key', { clickCount: 3 })
    await page.keyboard.press('Backspace')
    await page.click('#apply')
    await waitFor(async () => (await rowCount(page, '#dead')) === 3, 10_000, 'the unfiltered list')
    await page.click('#dead tbody tr:last-child a.conv')
    await waitFor(async () => (await text(page, '#timeline')).includes('died in'), 10_000, 'the timeline')
    const timeline = await page.$$eval('#timeline li', (items) => items.map((item) => item.className))
    expect(timeline.filter((kind) => kind === 'dead')).toHaveLength(1)
    expect(timeline.length).toBeGreaterThanOrEqual(3)
    expect(await text(page, '#timeline')).toContain(world.event)
    await page.screenshot({ path: join(SHOTS, 'conversation.png') })

    // An eventail-like consumer (no AM Bus product) on its events queue, for the queues view.
    const eventail = await connect(url)
    onTestFinished(() => eventail.close().catch(() => undefined))
    const channel = await eventail.createChannel()
    await channel.consume(world.events, () => undefined, { noAck: false })

    // Queues: the service's queues with their depth.
    await page.click('#tab-queues')
    await page.waitForSelector(`#services tr[data-queue="${world.commands}"]`, { timeout: 15_000 })
    const cells = (queue: string) =>
      page.$$eval(`#services tr[data-queue="${queue}"] td`, (tds) => tds.map((td) => td.textContent ?? ''))
    expect((await cells(world.commands)).slice(0, 2)).toEqual([world.service, world.commands])
    // Consumers by product (the management API names a consumer's connection a few seconds late).
    await waitFor(
      async () => {
        const answered = page.waitForResponse((response) => response.url().endsWith('/api/queues'))
        await page.click('#q-refresh')
        await (await answered).text()
        // The table is drawn in the same task as the answer is read.
        await page.evaluate('new Promise((resolve) => requestAnimationFrame(resolve))')
        const commands = await cells(world.commands)
        const events = await cells(world.events)
        return commands[6] === '1' && events[7]?.startsWith('1') === true
      },
      30_000,
      'the AM Bus and the eventail-like consumers told apart',
    )
    expect((await cells(world.events))[7]).toBe('1 (amqplib)')
    await page.screenshot({ path: join(SHOTS, 'queues.png'), fullPage: true })

    expect(errors).toEqual([])
    await page.close()
  })

  it('shows an undecodable body as bytes and keeps working', async () => {
    const bus = await testBus(url)
    const world = await declareWorld(bus, 'broken')
    await world.killRaw('commands', world.command, Buffer.from([0xc3, 0x28, 0xff]), {
      contentType: 'application/cbor',
      headers: { conversation_id: '<img src=x onerror=alert(1)>' },
    })
    const { base } = await testConsole(url, { dlqs: [world.dlq] })
    const { page, errors } = await openPage(base)
    await waitFor(async () => (await rowCount(page, '#dead')) === 1, 10_000, 'the dead letter')
    expect(await text(page, '#dead tbody a.conv')).toBe('<img src=x onerror=alert(1)>')
    expect(await page.$$eval('#dead tbody img', (images) => images.length)).toBe(0)
    await page.click('#dead tbody tr:first-child td.key')
    await waitFor(
      async () => (await text(page, '#payload')).startsWith('Undecodable:'),
      10_000,
      'the undecodable payload',
    )
    expect(await text(page, '#payload')).toContain('<bytes 3: c328ff>')
    await page.screenshot({ path: join(SHOTS, 'undecodable.png') })
    expect(errors).toEqual([])
    await page.close()
  })
})
