/**
 * `npm run local -- next-day` (also `npm run next-day`): the running stack's quota day ends now.
 * Every party's clock moves to just after the next quota-day boundary, then the stack runs the
 * recovery pass as its timer would, so deferred files are sent and land in `done/` (the stack's
 * terminal shows their lines). This command prints one line: the day moved, and what the pass did.
 */
import { runCommand } from './cli';
import { findStack } from './client';
import { callControl } from './control';
import { nextDayLine, type NextDayResult } from './day-move';
import { NEXT_DAY_OPTIONS, parseClientOptions, usage } from './options';

const COMMAND = 'npm run local -- next-day';

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'next-day');
  if (o === 'help') {
    process.stdout.write(usage(COMMAND, NEXT_DAY_OPTIONS, '', '[options]'));
    return;
  }
  const stack = await findStack(o.dataDir);
  if (!stack.control) throw new Error('the running stack was started before next-day existed: restart it (Ctrl-C in its terminal, then npm start)');
  const answer = await callControl<NextDayResult>(stack.control, 'next-day');
  if (!answer.ok) throw new Error(answer.message);
  process.stdout.write(`${o.json ? JSON.stringify(answer) : nextDayLine(answer)}\n`);
  process.exit(answer.pass.ok ? 0 : 1);
}

runCommand(COMMAND, main);
