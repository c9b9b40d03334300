/**
 * CLI: `npm run deploy:api [-- --dry-run] [--no-build] [--env-file <path>]` and
 * `npm run remove:api [-- --dry-run]`. Deploys straight through the SCF API with the deploy
 * user's key from `.env`; see scripts/deploy/run.ts for the flow.
 */
import * as path from 'path';
import { parseCommandLine, usage, UsageError, type OptionSpec } from '../local/options';
import { runApiDeploy } from './run';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'dry-run', type: 'boolean', help: 'check everything and print what would change; change nothing (needs the deploy key and network access)' },
  { name: 'no-build', type: 'boolean', help: 'deploy dist/package as it is, without npm run build first' },
  { name: 'env-file', type: 'string', value: 'PATH', example: '.env.staging', help: 'read the settings from this file instead of .env' },
  { name: 'help', short: 'h', type: 'boolean', help: 'show this help and exit' },
];

async function main(): Promise<void> {
  // package.json ends each script with `--`, so that Node 20 does not take the operator's
  // `--env-file` for its own (it reads that option even after the script, and exits on a missing file).
  const [command, ...given] = process.argv.slice(2);
  const rest = given[0] === '--' ? given.slice(1) : given;
  const name = command === 'remove' ? 'npm run remove:api' : 'npm run deploy:api';
  let values: Record<string, string | boolean | undefined>;
  try {
    if (command !== 'deploy' && command !== 'remove') throw new UsageError(`run it as npm run deploy:api or npm run remove:api (got "${command ?? ''}")`);
    ({ values } = parseCommandLine(rest, OPTIONS, 0, name));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${name}: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  if (values.help) {
    process.stdout.write(usage(name, OPTIONS));
    return;
  }
  const dryRun = values['dry-run'] === true;
  const build = values['no-build'] !== true;
  // Relative to where the operator typed it (npm runs scripts from the project's root).
  const envFile = typeof values['env-file'] === 'string' ? path.resolve(process.env.INIT_CWD ?? process.cwd(), values['env-file']) : undefined;
  const code = await runApiDeploy({
    command,
    dryRun,
    build,
    envFile,
    io: {
      out: (line) => process.stdout.write(line + '\n'),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => Date.now(),
    },
  });
  process.exitCode = code;
}

void main();
