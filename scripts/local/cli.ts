/**
 * How the local commands end: an operator sees one line saying what is wrong and what to do,
 * never a stack trace (set IVR_LOCAL_DEBUG=1 to get one).
 */
import { UsageError } from './options';

/** The stack cannot start now (busy port, folder locked by another stack): exit code 1. */
export class StartupError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** One line for anything thrown, prefixed with the command's name. */
export function failureLine(command: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return `${command}: ${message.split('\n')[0]}`;
}

/** The exit code for anything thrown: 2 for a bad command line, 1 otherwise. */
export const exitCodeOf = (e: unknown): number => (e instanceof UsageError ? 2 : 1);

/** Runs a command's main function; a failure prints one line on stderr and exits. */
export function runCommand(command: string, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    process.stderr.write(`${failureLine(command, e)}\n`);
    if (process.env.IVR_LOCAL_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(exitCodeOf(e));
  });
}
