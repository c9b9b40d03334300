/**
 * `npm run policy`: prints a CAM policy filled in from .env (or .env.example when there is no
 * .env yet), ready to paste into CAM.
 *   npm run policy                          the execution role's policy (deploy/cam-policy.json)
 *   npm run policy -- --deploy-user         the deploy user's policy (deploy/deploy-user-policy.json)
 *   npm run policy -- --deploy-user --sls   plus what `sls deploy` needs (deploy/deploy-user-sls-policy.json)
 */
import * as fs from 'fs';
import * as path from 'path';
import { DeployConfigError, loadDeployEnv, loadDeploySettings, renderDeployUserPolicy, renderPolicy, ROOT } from './lib/deploy-config';

const args = new Set(process.argv.slice(2));
const file = fs.existsSync(path.join(ROOT, '.env')) ? path.join(ROOT, '.env') : path.join(ROOT, '.env.example');
if (!file.endsWith('.env')) process.stderr.write('no .env yet: showing the policy for the values in .env.example\n');
try {
  const { values } = loadDeployEnv(file);
  const settings = loadDeploySettings(values);
  const policy = args.has('--deploy-user') ? renderDeployUserPolicy(settings, (values.OWNER_UIN ?? '').trim(), { sls: args.has('--sls') }) : renderPolicy(settings);
  process.stdout.write(JSON.stringify(policy, null, 2) + '\n');
} catch (e) {
  const problems = e instanceof DeployConfigError ? e.problems : [(e as Error).message];
  for (const p of problems) process.stderr.write(`policy: ${p}\n`);
  process.exitCode = 1;
}
