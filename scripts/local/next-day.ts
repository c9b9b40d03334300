/**
 * `npm run local -- next-day` (also `npm run next-day`): the running stack's quota day ends now.
 * Every party's clock moves to just after the next quota-day boundary, then the stack runs the
 * recovery pass as its timer would, so deferred files are sent and land in `done/` (the stack's
 * terminal shows their lines). This command prints one line: the day moved, and what the pass did.
 */
import { runCommand } from './cli';
import { askStack } from './client';
import { npmRunFor } from './shell';
import { interruptedLine, nextDayLine, type NextDayResult } from './day-move';
import { NEXT_DAY_OPTIONS, parseClientOptions, usage } from './options';

const COMMAND = 'npm run local -- next-day';

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'next-day');
  if (o === 'help') {
    process.stdout.write(usage(COMMAND, NEXT_DAY_OPTIONS, '', '[options]'));
    return;
  }
  // The pass sends deferred files at 1 call/s, so an operator may stop waiting (a trial's Ctrl-C
  // printed nothing). The stack goes on once it has the request: say so, and where to look.
  let sent = false;
  process.once('SIGINT', () => {
    const line = interruptedLine(sent, npmRunFor(o.dataDir, 'status'));
    process.stdout.write(o.json ? `${JSON.stringify({ ok: false, interrupted: true, asked: sent, message: line })}\n` : `\n${line}\n`);
    process.exit(130);
  });
  const answer = await askStack<NextDayResult>(o.dataDir, 'next-day', undefined, () => (sent = true));
  process.stdout.write(`${o.json ? JSON.stringify({ ok: true, ...answer }) : nextDayLine(answer)}\n`);
  process.exit(answer.pass.ok ? 0 : 1);
}

runCommand(COMMAND, main);
