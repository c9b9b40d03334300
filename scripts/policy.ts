/**
 * `npm run policy`: prints a CAM policy filled in from .env (or .env.example when there is no
 * .env yet), ready to paste into CAM.
 *   npm run policy                          the execution role's policy (deploy/cam-policy.json)
 *   npm run policy -- --deploy-user         the deploy user's policy (deploy/deploy-user-policy.json)
 *   npm run policy -- --deploy-user --sls   plus what `sls deploy` needs (deploy/deploy-user-sls-policy.json)
 */
import * as fs from 'fs';
import * as path from 'path';
import { DeployConfigError, loadDeployEnv, loadDeploySettings, PLACEHOLDERS, renderDeployUserPolicy, renderPolicy, ROOT, shellOverrideNote } from './lib/deploy-config';
import { parseCommandLine, usage, UsageError, type OptionSpec } from './local/options';

/** The options; a typo is refused (with the closest name), never read as "the execution role's policy". */
const OPTIONS: readonly OptionSpec[] = [
  { name: 'deploy-user', type: 'boolean', help: "the deploy user's policy (deploy/deploy-user-policy.json) instead of the execution role's" },
  { name: 'sls', type: 'boolean', help: 'with --deploy-user: plus what `sls deploy` needs (deploy/deploy-user-sls-policy.json)' },
  { name: 'env-file', type: 'string', value: 'PATH', example: '.env.staging', help: 'read the settings from this file instead of .env (as npm run deploy:api -- --env-file)' },
  { name: 'help', short: 'h', type: 'boolean', help: 'show this help and exit' },
];

let opts: { deployUser: boolean; sls: boolean; envFile?: string };
try {
  // package.json ends the script with `--` (see scripts/deploy/api.ts: Node 20 reads --env-file itself).
  const given = process.argv.slice(2);
  const { values } = parseCommandLine(given[0] === '--' ? given.slice(1) : given, OPTIONS, 0, 'npm run policy');
  if (values.help) {
    process.stdout.write(usage('npm run policy', OPTIONS, '', '[-- --deploy-user [--sls]]'));
    process.exit(0);
  }
  if (values.sls && !values['deploy-user']) throw new UsageError('--sls goes with --deploy-user (the execution role needs nothing more for sls deploy)');
  const envFile = typeof values['env-file'] === 'string' ? path.resolve(process.env.INIT_CWD ?? process.cwd(), values['env-file']) : undefined;
  opts = { deployUser: values['deploy-user'] === true, sls: values.sls === true, ...(envFile ? { envFile } : {}) };
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`policy: ${e.message}\n`);
  process.exit(e.exitCode);
}
// A file given is read as it is (a missing one is refused); without one, .env, else .env.example's example.
const file = opts.envFile ?? (fs.existsSync(path.join(ROOT, '.env')) ? path.join(ROOT, '.env') : path.join(ROOT, '.env.example'));
if (!opts.envFile && file.endsWith('.env.example')) process.stderr.write('no .env yet: showing the policy for the values in .env.example\n');
try {
  const { values, fileValues } = loadDeployEnv(file);
  const note = shellOverrideNote(fileValues, process.env, file);
  if (note) process.stderr.write(`policy: ${note}\n`);
  const placeholders = Object.entries(PLACEHOLDERS).filter(([k, v]) => (values[k] ?? '').trim() === v).map(([k]) => k);
  if (!file.endsWith('.env.example') && placeholders.length > 0) process.stderr.write(`policy: ${placeholders.join(' and ')} in ${path.basename(file)} still ${placeholders.length === 1 ? 'has its' : 'have their'} .env.example placeholder: set ${placeholders.length === 1 ? 'it' : 'them'} to your own before pasting this policy\n`);
  const settings = loadDeploySettings(values);
  const policy = opts.deployUser ? renderDeployUserPolicy(settings, (values.OWNER_UIN ?? '').trim(), { sls: opts.sls }) : renderPolicy(settings);
  process.stdout.write(JSON.stringify(policy, null, 2) + '\n');
} catch (e) {
  const problems = e instanceof DeployConfigError ? e.problems : [(e as Error).message];
  for (const p of problems) process.stderr.write(`policy: ${p}\n`);
  process.exitCode = 1;
}
