// The cdktf app: one stack per environment, synthesized offline to cdktf.out/ (`npm run synth`).
// TILLSTREAM_ENV limits synth to one environment (Cloud Build deploys one at a time); the other
// deploy-time overrides are read by loadStackConfig. CDKTF_OUTDIR moves the output (tests use it).
import { App } from 'cdktf';
import { ENVIRONMENTS, loadStackConfig, type Environment } from './config.js';
import { TillstreamStack } from './stack.js';

export const stackName = (env: Environment) => `tillstream-${env}`;

const only = process.env.TILLSTREAM_ENV || undefined;
if (only !== undefined && !(ENVIRONMENTS as readonly string[]).includes(only)) {
  throw new Error(`TILLSTREAM_ENV must be one of ${ENVIRONMENTS.join(', ')}, not "${only}"`);
}
const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });
for (const env of ENVIRONMENTS) {
  if (only && env !== only) continue;
  new TillstreamStack(app, stackName(env), loadStackConfig(env));
}
app.synth();
