/**
 * `npm run local -- ccc <what>`: the running stack's CCC does one thing wrong next (see
 * ccc-faults.ts), so an operator can see on a laptop what a file shows when the real CCC does it.
 * This command prints what the local CCC will do and what to watch for; the stack's terminal then
 * shows the files' lines as usual.
 */
import { CCC_FAULTS } from './ccc-faults';
import { runCommand } from './cli';
import { findStack } from './client';
import { callControl } from './control';
import { CCC_OPTIONS, parseClientOptions, usage } from './options';

const COMMAND = 'npm run local -- ccc';

/** `--help`: the options, then every fault with what it does and what the file then shows. */
function help(): string {
  const names = Object.keys(CCC_FAULTS);
  const width = Math.max(...names.map((n) => n.length));
  const faults = Object.entries(CCC_FAULTS).flatMap(([name, f]) => [`  ${name.padEnd(width)}  ${f.does}`, `  ${' '.repeat(width)}  → ${f.then}`]);
  return [usage(COMMAND, CCC_OPTIONS, '', `<${names.join('|')}> [options]`), 'what (once: the next call or file):', ...faults, ''].join('\n');
}

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'ccc');
  if (o === 'help') {
    process.stdout.write(help());
    return;
  }
  const stack = await findStack(o.dataDir);
  if (!stack.control) throw new Error('the running stack was started before this command existed: restart it (Ctrl-C in its terminal, then npm start)');
  const answer = await callControl<{ fault: string; does: string; then: string }>(stack.control, 'ccc', o.fault);
  if (!answer.ok) throw new Error(answer.message);
  process.stdout.write(`${o.json ? JSON.stringify(answer) : `local CCC: ${answer.does}; ${answer.then}`}\n`);
}

runCommand(COMMAND, main);
