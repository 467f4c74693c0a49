import { runProgram } from '@am/cli-kit'
import { createCli } from './program.js'

await runProgram(createCli)
