/**
 * CLI: `npm run deploy:api [-- --dry-run] [--no-build] [--env-file <path>]` and
 * `npm run remove:api [-- --dry-run]`. Deploys straight through the SCF API with the deploy
 * user's key from `.env`; see scripts/deploy/run.ts for the flow.
 */
import { runApiDeploy } from './run';

function usage(): never {
  process.stderr.write('usage: tsx scripts/deploy/api.ts deploy|remove [--dry-run] [--no-build] [--env-file <path>]\n');
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const command = args.shift();
  if (command !== 'deploy' && command !== 'remove') usage();
  let dryRun = false;
  let build = true;
  let envFile: string | undefined;
  while (args.length) {
    const a = args.shift();
    if (a === '--dry-run') dryRun = true;
    else if (a === '--no-build') build = false;
    else if (a === '--env-file') envFile = args.shift() ?? usage();
    else usage();
  }
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
