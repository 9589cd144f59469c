import { Command, CommanderError, Option } from 'commander'
import { checkConfig } from './commands/check-config.js'
import { ExitCode, UsageError } from './errors.js'
import type { Io } from './io.js'

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

function configCommand(
  name: string,
  description: string,
  withAnalysis: boolean,
  io: Io,
  done: (code: number) => void,
): Command {
  return new Command(name)
    .description(description)
    .requiredOption(
      '-f, --filename <path>',
      'a file, a folder of .yaml/.yml/.json files, or - for stdin (repeatable)',
      collect,
    )
    .option('-R, --recursive', 'read folders recursively')
    .option('-n, --namespace <ns>', 'namespace of resources that name none', 'default')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (options) => done(await checkConfig(options, withAnalysis, io)))
}

/** Runs the `weft` command line and resolves to the process exit status. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let status: number = ExitCode.ok
  const done = (code: number) => {
    status = code
  }
  const program = new Command('weft')
    .description('Weft: an in-process service mesh for Node.js, configured with Istio YAML')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError()
  program.addCommand(
    configCommand('validate', 'check config files offline: schema and Istio semantic rules', false, io, done),
  )
  program.addCommand(
    configCommand(
      'analyze',
      'validate, then look across resources for broken references and conflicts',
      true,
      io,
      done,
    ),
  )
  for (const command of program.commands)
    command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    if (error instanceof UsageError) {
      io.err(`weft: ${error.message}\n`)
      return ExitCode.usage
    }
    throw error
  }
  return status
}
