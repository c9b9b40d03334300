/**
 * `npm run local -- <command>`: the local stack's commands under one name. `next-day` lives only
 * here (and as `npm run next-day`); the others are the same commands as `npm start`,
 * `npm run status` and `npm run report`.
 */
// First, as in every command of the stack: the shifted `Date` before anything keeps `Date.now`.
import './clock';
import * as path from 'path';
import { CCC_FAULTS } from './ccc-faults';
import { runCommand } from './cli';
import { suggestOption, UsageError } from './options';

/** A subcommand: the module that runs it (it reads its own options) and one line of help. */
interface Subcommand {
  module: string;
  help: string;
}

/** Every subcommand, in the order `--help` lists them. */
export const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  start: { module: 'main', help: 'run the local stack in this terminal (same as npm start)' },
  status: { module: 'status', help: 'every file in the local bucket with its state, then what needs action (same as npm run status)' },
  report: { module: 'report', help: "write a day's report now and print where its page is (same as npm run report)" },
  'next-day': { module: 'next-day', help: 'end the running stack\'s quota day now, then run its timer (the recovery pass): deferred files are sent' },
  ccc: { module: 'ccc', help: `make the local CCC do one thing wrong next (${Object.keys(CCC_FAULTS).join(', ')}), to see what a file shows then` },
};

/** `npm run local -- --help`. */
export function localUsage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  return [
    'usage: npm run local -- <command> [options]',
    '',
    ...Object.entries(SUBCOMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.help}`),
    '',
    'npm run local -- <command> --help lists the options of one command.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(localUsage());
    return;
  }
  if (name === undefined) throw new UsageError(`which command? ${Object.keys(SUBCOMMANDS).join(', ')} (npm run local -- --help)`);
  const sub = Object.prototype.hasOwnProperty.call(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    const hint = suggestOption(name.replace(/^-+/, ''), Object.keys(SUBCOMMANDS));
    throw new UsageError(`unknown command "${name}"${hint ? `: did you mean ${hint}?` : `; commands: ${Object.keys(SUBCOMMANDS).join(', ')}`}`);
  }
  // The command reads its options from argv as if run on its own, and runs when loaded.
  process.argv.splice(2, 1);
  await import(path.join(__dirname, sub.module));
}

runCommand('npm run local', main);
