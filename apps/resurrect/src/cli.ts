import { EXIT, normalizeArgv, runCli } from '@am/cli-kit'
import { ARGV, createCli } from './program.js'

await runCli(async (ctx) => {
  const cli = createCli(ctx)
  cli.parse(normalizeArgv(process.argv, ARGV), { run: false })
  return ((await cli.runMatchedCommand()) as number | undefined) ?? EXIT.OK
})
