import { EXIT, normalizeArgv, runCli } from '@am/cli-kit'
import { createCli } from './program.js'

await runCli(async (ctx) => {
  const cli = createCli(ctx)
  cli.parse(normalizeArgv(process.argv), { run: false })
  if (!cli.matchedCommand) return EXIT.OK // --help or --version
  return ((await cli.runMatchedCommand()) as number | undefined) ?? EXIT.OK
})
