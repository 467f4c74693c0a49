import { version as serviceVersion } from '@am/service/package.json'
import { version as testingVersion } from '@am/testing/package.json'

/** Versions written into a new project: the `@am/*` ones are those built from the same commit. */
export const VERSIONS = {
  '@am/service': `^${serviceVersion}`,
  '@am/testing': `^${testingVersion}`,
  // Third-party tools, chosen to install and run on Node 20.19+ (vitest 5 and TypeScript 7 need Node 22
  // or have no compiler API yet).
  '@types/node': '^20.19.0',
  tsx: '^4.23.0',
  typescript: '~5.9.3',
  vitest: '^4.1.12',
} as const

/** What the project is called: the npm package name and the logical service name (`<name>.Greet`). */
export interface ProjectOptions {
  /** Lower-case letters, digits, `-` and `_`, starting with a letter. */
  name: string
}

/** A service name is a routing-key word and a queue prefix: no dots, no spaces, no upper case. */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/

/** The class name of the service, from its name: `my-service` → `MyService`. */
export function className(name: string): string {
  const words = name.split(/[-_]+/).filter(Boolean)
  const joined = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('')
  return /^[A-Z]/.test(joined) ? joined : `Service${joined}`
}

/** Every file of a new project, by path relative to its directory. */
export function projectFiles({ name }: ProjectOptions): Record<string, string> {
  const Class = className(name)
  const packageJson = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=20.19.0' },
    scripts: {
      // exec: the shell npm runs the script in would not pass SIGTERM on; with exec, npm's signal
      // reaches the service itself. One process: tsx as Node's loader (Node 20.6+), not as a wrapper.
      start: 'exec node --import tsx src/main.ts',
      dev: 'tsx watch src/main.ts',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
    },
    dependencies: { '@am/service': VERSIONS['@am/service'] },
    devDependencies: {
      '@am/testing': VERSIONS['@am/testing'],
      '@types/node': VERSIONS['@types/node'],
      tsx: VERSIONS.tsx,
      typescript: VERSIONS.typescript,
      vitest: VERSIONS.vitest,
    },
  }
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023', 'ESNext.Disposable'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['src', 'test'],
  }
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    '.gitignore': 'node_modules/\n',
    'src/messages.ts': messages(name),
    'src/service.ts': service(name, Class),
    'src/main.ts': main(Class),
    'test/service.test.ts': test(name, Class),
    'README.md': readme(name),
  }
}

function messages(name: string): string {
  return `// The messages ${name} handles, with their payload types: handlers and publishes are type-checked
// against them. Keys are routing keys (\`<service>.<Command>\` for commands, \`<Event>\` for events).

/** \`${name}.Greet\`: greet someone. */
export interface Greet {
  name: string
}

/** The success result of \`${name}.Greet\`. */
export interface Greeting {
  greeting: string
}

/** The error result of \`${name}.Greet\`. */
export interface Refused {
  reason: string
}

/** What ${name} consumes and publishes, by kind (kinds it does not use are left out). */
export interface Messages {
  commands: { '${name}.Greet': Greet }
}
`
}

function service(name: string, Class: string): string {
  return `import { type Handlers, Service } from '@am/service'
import type { Greeting, Messages, Refused } from './messages.js'

/** ${name}: answers \`${name}.Greet\` with a greeting. */
export class ${Class} extends Service<Messages> {
  readonly name = '${name}'

  protected handlers(): Handlers<Messages> {
    return {
      commands: {
        '${name}.Greet': async (payload, ctx) => {
          // Payloads come from other services: check them, and answer a bad one with an error result.
          if (typeof payload?.name !== 'string' || payload.name === '') {
            await ctx.returnError({ reason: 'name must be a non-empty string' } satisfies Refused)
            return
          }
          await ctx.returnSuccess({ greeting: \`Hello, \${payload.name}!\` } satisfies Greeting)
        },
      },
    }
  }
}
`
}

function main(Class: string): string {
  return `import { ${Class} } from './service.js'

// AMQP_URL: amqp://user:password@host:5672/vhost (the password is never logged).
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/%2F'

// SIGTERM, SIGINT and SIGHUP stop the service gracefully: in-flight messages are finished and acked.
const service = new ${Class}({ urls: url })
await service.start()
console.info(\`\${service.name} ready\`)
await service.stopped
`
}

function test(name: string, Class: string): string {
  return `import { startService } from '@am/testing'
import { describe, expect, it } from 'vitest'
import { ${Class} } from '../src/service.js'

// @am/testing runs the service on an in-memory RabbitMQ: no broker needed.
describe('${name}', () => {
  it('answers ${name}.Greet with a greeting', async () => {
    await using h = await startService(${Class})
    const result = await h.sendCommand('${name}.Greet', { name: 'Ada' })
    expect([result.status, result.payload]).toEqual(['success', { greeting: 'Hello, Ada!' }])
  })

  it('answers an invalid command with an error result', async () => {
    await using h = await startService(${Class})
    const result = await h.sendCommand('${name}.Greet', { name: 42 })
    expect([result.status, result.payload]).toEqual(['error', { reason: 'name must be a non-empty string' }])
  })
})
`
}

function readme(name: string): string {
  return `# ${name}

A service of the Allo-Media event bus, written with [\`@am/service\`](https://www.npmjs.com/package/@am/service).

## Commands

\`\`\`sh
npm install
npm test                  # the tests, on an in-memory bus (@am/testing): no broker needed
npm run typecheck
AMQP_URL=amqp://guest:guest@localhost:5672/%2F npm start   # run it against RabbitMQ; Ctrl-C stops it
\`\`\`

Try it with the debug tool \`am-send-command\` (from \`@am/send-command\`), in another terminal:

\`\`\`sh
echo '{"name":"Ada"}' > greet.json
npx -p @am/send-command am-send-command amqp://guest:guest@localhost:5672/%2F ${name}.Greet greet.json
\`\`\`

## Layout

| file | |
| --- | --- |
| \`src/messages.ts\` | the messages the service handles, with their payload types |
| \`src/service.ts\` | the service: its name and its handler table |
| \`src/main.ts\` | starts it with \`AMQP_URL\`; SIGTERM/SIGINT stop it gracefully |
| \`test/service.test.ts\` | tests with \`@am/testing\`'s in-memory bus |

\`npm start\` runs the TypeScript directly, with no build step: \`node --import tsx src/main.ts\` loads
[tsx](https://tsx.is) (esbuild) as Node's module loader, which works on Node 20 (Node's own
\`--experimental-strip-types\` needs Node 22.6+). The script starts with \`exec\` so that SIGTERM
reaches the service (the shell npm runs scripts in would not pass it on); on Windows run
\`node --import tsx src/main.ts\` yourself. In a container, run that command directly rather than
\`npm start\`, with \`tsx\` moved to \`dependencies\`, or compile with \`tsc\` and run \`node\` on the output.
`
}
