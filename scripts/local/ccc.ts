/**
 * `npm run local -- ccc <what>`: the running stack's CCC does one thing wrong next (see
 * ccc-faults.ts), so an operator can see on a laptop what a file shows when the real CCC does it.
 * This command prints what the local CCC will do and what to watch for; the stack's terminal then
 * shows the files' lines as usual.
 */
import { CCC_FAULTS } from './ccc-faults';
import { runCommand } from './cli';
import { askStack } from './client';
import { CCC_OPTIONS, parseClientOptions, usage } from './options';

const COMMAND = 'npm run local -- ccc';

/** `--help`: the options, then every fault with what it does and what the file then shows. */
function help(): string {
  const names = Object.keys(CCC_FAULTS);
  const width = Math.max(...names.map((n) => n.length));
  const faults = Object.entries(CCC_FAULTS).flatMap(([name, f]) => [`  ${name.padEnd(width)}  ${f.does}`, `  ${' '.repeat(width)}  → ${f.then}`]);
  return [usage(COMMAND, CCC_OPTIONS, '', `<${names.join('|')}> [options]`), "what (each but quota once, on the next call or file; quota's files stay for the day):", ...faults, ''].join('\n');
}

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'ccc');
  if (o === 'help') {
    process.stdout.write(help());
    return;
  }
  const answer = await askStack<{ fault: string; does: string; then: string; earlier: number }>(o.dataDir, 'ccc', o.fault);
  // Faults queue: ones asked for earlier and not used yet may act first (on the same call).
  const earlier = answer.earlier > 0 ? ` (${answer.earlier} asked for earlier ${answer.earlier === 1 ? 'is' : 'are'} not used yet)` : '';
  process.stdout.write(`${o.json ? JSON.stringify({ ok: true, ...answer }) : `local CCC: ${answer.does}; ${answer.then}${earlier}`}\n`);
}

runCommand(COMMAND, main);
