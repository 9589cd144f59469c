import { Command, CommanderError, Option } from 'commander'
import { controlPlaneCommand } from './commands/control-plane.js'
import { dashboardCommand } from './commands/dashboard.js'
import {
  applyCommand,
  deleteCommand,
  describeServiceCommand,
  dumpCommand,
  getCommand,
  statusCommand,
  tokenCreateCommand,
} from './commands/operate.js'
import { DEFAULT_SERVER, RemoteError } from './commands/remote.js'
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
    .action(async (options) => {
      // Loaded when used: the config stack (schemas, validators) is most of the CLI's start-up.
      const { checkConfig } = await import('./commands/check-config.js')
      done(await checkConfig(options, withAnalysis, io))
    })
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
  const output = () =>
    new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table')
  const remote = (command: Command) =>
    command
      .option(
        '--server <urls>',
        `the control plane; replicas comma-separated, tried in order (WEFT_SERVER; default ${DEFAULT_SERVER})`,
      )
      .option(
        '--token <token>',
        'the credential (WEFT_TOKEN); prefer the variable, which stays out of shell history',
      )
  program.addCommand(
    new Command('control-plane')
      .description('run the config service every SDK watches (file store in --data-dir)')
      .option('--port <port>', 'port to listen on', '15010')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option(
        '--data-dir <dir>',
        'where state and generated secrets live (WEFT_DATA_DIR; default ~/.weft/control-plane)',
      )
      .addOption(new Option('--store <store>', 'where state lives').choices(['file', 'etcd']).default('file'))
      .option('--etcd-endpoints <urls>', 'comma-separated etcd URLs, with --store etcd')
      .action(async (options) => done(await controlPlaneCommand(options, io))),
  )
  program.addCommand(
    remote(new Command('apply'))
      .description('apply Istio YAML to the control plane: every file as one set, all or nothing')
      .requiredOption('-f, --filename <path>', 'a file, a folder, or - for stdin (repeatable)', collect)
      .option('-R, --recursive', 'read folders recursively')
      .option('-n, --namespace <ns>', 'namespace of resources that name none', 'default')
      .addOption(output())
      .action(async (options) => done(await applyCommand(options, io))),
  )
  program.addCommand(
    remote(new Command('get'))
      .description('list resources of a kind, or show one')
      .argument('<kind>', 'VirtualService, vs, destinationrules, …')
      .argument('[name]')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .option('-A, --all-namespaces', 'every namespace')
      .addOption(output())
      .action(async (kind, name, options) => done(await getCommand(kind, name, options, io))),
  )
  program.addCommand(
    remote(new Command('delete'))
      .description('delete one resource')
      .argument('<kind>')
      .argument('<name>')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .action(async (kind, name, options) => done(await deleteCommand(kind, name, options, io))),
  )
  program.addCommand(
    remote(new Command('status'))
      .description('every workload watching: the config version it applied, ACK or NACK and why')
      .addOption(output())
      .action(async (options) => done(await statusCommand(options, io))),
  )
  program.addCommand(
    new Command('describe').description('what governs a service').addCommand(
      remote(new Command('service'))
        .description('routes, subsets with their endpoints, policies in force, instances watching')
        .argument('<name>')
        .option('-n, --namespace <ns>', 'namespace', 'default')
        .addOption(output())
        .action(async (name, options) => done(await describeServiceCommand(name, options, io))),
    ),
  )
  program.addCommand(
    remote(new Command('dump'))
      .description("one workload's view of the config: the hosts it routes and the policies on it")
      .argument('<service>')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'),
      )
      .action(async (service, options) => done(await dumpCommand(service, options, io))),
  )
  program.addCommand(
    new Command('token').description('workload credentials').addCommand(
      remote(new Command('create'))
        .description('print a workload token for a namespace and service account')
        .requiredOption('--namespace <ns>')
        .requiredOption('--service-account <sa>')
        .action(async (options) => done(await tokenCreateCommand(options, io))),
    ),
  )
  program.addCommand(
    remote(new Command('dashboard'))
      .description(
        'print the web dashboard’s address, with a read-only viewer token minted by the admin token',
      )
      .option('--open', 'open it in the default browser (xdg-open, open); print it if that fails')
      .addOption(
        new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
      )
      .action(async (options) => done(await dashboardCommand(options, io))),
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
    if (error instanceof RemoteError) {
      io.err(`weft: ${error.message}\n`)
      for (const line of error.lines) io.err(`${line}\n`)
      return error.exitCode
    }
    throw error
  }
  return status
}
