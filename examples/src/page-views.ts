// Batches: a service that handles its events by the hundred rather than one by one, as one would
// to write them to a database in one statement. `node examples/dist/page-views.js` runs it on the
// broker of AMQP_URL (default amqp://guest:***@127.0.0.1:5672/) with a site publishing page views.
import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { redactUrl } from '@am/errors'
import { batch, type Handlers, Service, type ServiceOptions } from '@am/service'

/** Event `PageViewed`: someone viewed a page of the site. */
export interface PageViewed {
  page: string
}

/** Event `PageViewsCounted`: one batch of page views, counted by page. */
export interface PageViewsCounted {
  views: number
  pages: Record<string, number>
}

/** The page view events, by routing key. */
export interface ViewMessages {
  events: { PageViewed: PageViewed; PageViewsCounted: PageViewsCounted }
  commands: Record<never, never>
  results: Record<never, never>
  configurations: Record<never, never>
}

/** The most page views handled together. */
export const BATCH_SIZE = 100
/** How long the first page view of a batch waits for others, in ms. */
export const BATCH_WAIT_MS = 200

/**
 * The `view-counter` service: counts page views by batches of up to 100, or what came in within
 * 200 ms, and publishes one `PageViewsCounted` per batch. Each `PageViewed` is acked once its batch
 * is counted and the summary confirmed; a failing batch is retried once, then dead-lettered.
 */
export class ViewCounter extends Service<ViewMessages> {
  readonly name = 'view-counter'
  /** Views by page: stands in for the table a real service would update once per batch. */
  readonly totals = new Map<string, number>()
  /** The size of each batch counted, in order. */
  readonly batches: number[] = []

  constructor(options: ServiceOptions) {
    // The broker delivers at most `prefetch` unacked messages: a full batch needs at least BATCH_SIZE.
    super({ prefetch: BATCH_SIZE, ...options })
  }

  protected handlers(): Handlers<ViewMessages> {
    return {
      events: {
        PageViewed: batch({ maxEntries: BATCH_SIZE, timeoutMs: BATCH_WAIT_MS }, async (entries) => {
          this.batches.push(entries.length)
          const pages: Record<string, number> = {}
          for (const { payload } of entries) pages[payload.page] = (pages[payload.page] ?? 0) + 1
          for (const [page, views] of Object.entries(pages)) this.totals.set(page, (this.totals.get(page) ?? 0) + views)
          // A batch mixes conversations: its summary starts one of its own.
          await this.publishEvent(
            'PageViewsCounted',
            { views: entries.length, pages },
            { conversationId: randomUUID() },
          )
        }),
      },
    }
  }
}

/** The `site` service: publishes page views and consumes nothing. */
export class Site extends Service<ViewMessages> {
  readonly name = 'site'

  protected handlers(): Handlers<ViewMessages> {
    return {}
  }

  /** Publishes a `PageViewed`, each in a new conversation. */
  async view(page: string): Promise<void> {
    await this.publishEvent('PageViewed', { page }, { conversationId: randomUUID() })
  }
}

/** Publishes 250 page views and prints the batches the counter made of them. */
async function main(): Promise<void> {
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/'
  const options: ServiceOptions = { urls: url }
  const counter = new ViewCounter(options)
  const site = new Site(options)
  await counter.start()
  await site.start()
  process.stdout.write(`Page views on ${redactUrl(url)}\n`)
  const started = performance.now()
  const pages = ['/', '/pricing', '/docs', '/blog']
  for (let i = 0; i < 250; i++) await site.view(pages[i % pages.length] as string)
  // The last 50 views make a batch that waits BATCH_WAIT_MS for more.
  const counted = (): number => [...counter.totals.values()].reduce((a, b) => a + b, 0)
  while (counted() < 250) await delay(20)
  process.stdout.write(
    `${counted()} views in ${Math.round(performance.now() - started)} ms, ` +
      `batches of ${counter.batches.join(', ')}: ${JSON.stringify(Object.fromEntries(counter.totals))}\n`,
  )
  await site.stop()
  await counter.stop()
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    process.stderr.write(`${redactUrl(error.message)}\n`)
    process.exitCode = 1
  })
}
