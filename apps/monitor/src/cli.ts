import { runProgram } from '@am/cli-kit'
import { ARGV, createCli } from './program.js'

await runProgram(createCli, ARGV)
