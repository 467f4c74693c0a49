import { EXIT, runCli } from '@am/cli-kit'
import { prepareArgv } from './argv.js'
import { createCli } from './program.js'

await runCli(async (ctx) => {
  const cli = createCli(ctx)
  cli.parse(prepareArgv(process.argv), { run: false })
  return ((await cli.runMatchedCommand()) as number | undefined) ?? EXIT.OK
})
