// `pnpm demo`: Istio's Bookinfo on Weft, walked through Istio's traffic and security tasks with
// Istio's own YAML. `--ci` runs the steps unattended and exits 1 if any outcome differs from
// Istio's; `--step ID` runs the steps up to and including ID (each builds on the rules before it).
import { parseArgs } from 'node:util'
import { startBookinfo } from './lib/bookinfo.mjs'
import { formatStep } from './lib/report.mjs'
import { runStep, steps } from './lib/steps.mjs'

const { values } = parseArgs({
  options: { ci: { type: 'boolean', default: false }, step: { type: 'string' }, port: { type: 'string' } },
})
const last = values.step ? steps.findIndex((s) => s.id === values.step) : steps.length - 1
if (last < 0) {
  console.error(`no step ${values.step}; the steps are: ${steps.map((s) => s.id).join(', ')}`)
  process.exit(2)
}
// The CI run takes any free port, so that it never fights a demo someone left running.
const gatewayPort = Number(values.port ?? (values.ci ? 0 : 9080))
const progress = (line) => process.stdout.write(`   · ${line}\n`)

console.log('Starting the control plane and Bookinfo (each service its own process)…')
const started = Date.now()
const bookinfo = await startBookinfo({ gatewayPort, log: progress })
console.log(
  `Bookinfo is up in ${((Date.now() - started) / 1000).toFixed(1)} s; service logs in ${bookinfo.logDir}`,
)
// The live service graph, read with a viewer token (read-only) in the address's fragment.
const dashboard = await bookinfo.dashboardUrl()
console.log(`Dashboard (live service graph): ${dashboard}`)

let stopping
const stop = async (code) => {
  stopping ??= bookinfo.close().then(() => process.exit(code))
  return stopping
}
process.on('SIGINT', () => {
  console.log('\nStopping Bookinfo and the control plane…')
  void stop(0)
})
process.on('SIGTERM', () => void stop(0))

const ctx = { bookinfo }
const failed = []
for (const [i, step] of steps.slice(0, last + 1).entries()) {
  progress(`step ${i + 1}/${last + 1}: ${step.title}…`)
  try {
    const result = await runStep(step, ctx)
    console.log(formatStep(i + 1, step, result))
    if (!result.ok) failed.push(step.id)
  } catch (error) {
    console.log(`\n${i + 1}. ${step.title}  [ERROR]\n   ${error.stack}`)
    failed.push(step.id)
  }
}

console.log(
  `\n${last + 1 - failed.length} of ${last + 1} steps met Istio's outcome${failed.length ? `; not met: ${failed.join(', ')}` : ''}.`,
)
if (values.ci) await stop(failed.length === 0 ? 0 : 1)

const gateway = `http://127.0.0.1:${bookinfo.gateway.port}`
const rules =
  last === steps.length - 1
    ? 'the last rules (reviews: jason → v2, everyone else → v3; mutual TLS STRICT)'
    : `the rules of step ${last + 1} (${steps[last].id})`
console.log(`
Bookinfo keeps running with ${rules}.
  product page:  ${gateway}/productpage   (sign in as jason to be routed by end-user)
  dashboard:     ${dashboard}
  metrics:`)
for (const s of [...bookinfo.services, bookinfo.gateway]) {
  console.log(`    ${`${s.service}-${s.version}`.padEnd(24)} http://127.0.0.1:${s.metricsPort}/metrics`)
}
console.log(`  control plane: ${bookinfo.controlPlaneUrl} (admin token in ${bookinfo.workDir}/control-plane/admin-token)
Press Ctrl-C to stop.`)
