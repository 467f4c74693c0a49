import { isAbsolute, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { version } from '../package.json'
import { ScaffoldError, scaffold } from './scaffold.js'

const USAGE = `Usage: create-am-service <directory> [--name <service-name>]

Writes a TypeScript service of the Allo-Media bus into <directory> (new or empty): package.json
depending on @am/service, a typed service, a test on @am/testing's in-memory bus, and a README.

  npm create am-service@latest my-service

Options:
  --name <name>   the service name (default: the directory's name)
  -h, --help      this help
  -v, --version   the version`

function main(argv: string[]): number {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`)
    return 64
  }
  const { values, positionals } = parsed
  if (values.help) {
    console.info(USAGE)
    return 0
  }
  if (values.version) {
    console.info(version)
    return 0
  }
  const [dir] = positionals
  if (dir === undefined || positionals.length > 1) {
    console.error(USAGE)
    return 64
  }
  try {
    const written = scaffold({ dir, ...(values.name === undefined ? {} : { name: values.name }) })
    const nearby = relative(process.cwd(), written.dir)
    const shown = nearby === '' ? '.' : nearby.startsWith('..') || isAbsolute(nearby) ? written.dir : nearby
    console.info(`Wrote ${written.files.length} files into ${shown}. Next:\n`)
    console.info(`  cd ${shown}`)
    console.info('  npm install')
    console.info('  npm test')
    console.info('  AMQP_URL=amqp://guest:guest@localhost:5672/%2F npm start')
    return 0
  } catch (error) {
    if (error instanceof ScaffoldError) {
      console.error(error.message)
      return 64
    }
    throw error
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}

process.exitCode = main(process.argv.slice(2))
