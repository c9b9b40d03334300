/**
 * Running the local stack's commands as an operator would, for the local-* tests: real processes
 * on free ports with temporary folders, waited on by condition (a line, a file), never by a fixed
 * sleep (a slow copy's pauses are tested on an injected clock, in local-dropfolder.test.ts).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { StringDecoder } from 'string_decoder';

export const ROOT = path.resolve(__dirname, '..');
export const MAIN = path.join(ROOT, 'scripts', 'local', 'main.ts');

/** Polls `probe` until it returns something truthy, or fails naming `what` (described when it fails) after `ms`. */
export async function waitUntil<T>(probe: () => T | undefined | false, what: string | (() => string), ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A temporary drop and state folder, removed by `cleanup`. */
export function tempDirs(): { root: string; drop: string; data: string; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-local-'));
  return { root, drop: path.join(root, 'drop'), data: path.join(root, 'state'), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/**
 * Arguments for a stack in `dirs` on ports it picks itself (`0`; the `ready` line names them), with
 * quick settle and review times. Not a port found free and closed again: any outgoing connection
 * of a parallel test can take it before the stack binds it. The timer is
 * moved to once a year: tests run the recovery pass themselves (report, next-day) and assert
 * exactly what the terminal prints, which the default 5-minute timer would break whenever a test
 * runs across a 5-minute boundary.
 */
export function stackArgs(dirs: { drop: string; data: string }, extra: string[] = []): string[] {
  return ['--cos-port', '0', '--ccc-port', '0', '--drop', dirs.drop, '--data', dirs.data, '--settle-ms', '300', '--auto-review-ms', '500', '--report-cron', '0 0 0 1 1 * *', ...extra];
}

/** A JSON line of the stack's output. */
export interface Line {
  type: string;
  [k: string]: unknown;
}

const running = new Set<Proc>();

/**
 * Kills whatever a test left running (a failed assertion skips its `stop()`), so jest can exit.
 * Call it from `afterEach`.
 */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await p.exited;
    }),
  );
}

/** A command running as its own process group (so Ctrl-C can reach all of it, as in a terminal). */
export class Proc {
  stdout = '';
  stderr = '';
  lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set once the process has exited and all its output has been read. */
  private closed = false;
  private readonly child: ChildProcess;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    let buf = '';
    // A Chinese name can be split across two chunks: decode as a stream, not chunk by chunk.
    const utf8 = new StringDecoder('utf8');
    this.child.stdout!.on('data', (c: Buffer) => {
      const text = utf8.write(c);
      this.stdout += text;
      buf += text;
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          this.lines.push(JSON.parse(line) as Line);
        } catch {
          this.lines.push({ type: 'unparsable', line });
        }
      }
    });
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    // 'close', not 'exit': all output has been read by then.
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.closed = true;
        running.delete(this);
        resolve({ code, signal });
      }),
    );
    running.add(this);
  }

  /** `npm start`'s main module, as `npm start` runs it (Node with tsx's require hook, in-process), with `--json`. */
  static stack(args: string[], json = true): Proc {
    return new Proc(process.execPath, ['--require', 'tsx/cjs', MAIN, ...(json ? ['--json'] : []), ...args]);
  }

  /** A script of package.json through npm itself (`npm run status -- …`). */
  static npm(script: string, args: string[]): Proc {
    return new Proc('npm', ['run', '--silent', script, '--', ...args]);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitFor(pred: (l: Line) => boolean, what: string, ms = 10000, from = 0): Promise<Line> {
    // Described when it fails, so the message shows the output up to then, not at the start.
    const describe = (): string => `${what}; last lines: ${JSON.stringify(this.lines.slice(-4))}; stderr: ${this.stderr.slice(-300)}`;
    return waitUntil(() => {
      const line = this.lines.slice(from).find(pred);
      if (line) return line;
      // A process that has exited prints nothing more: fail now, with what it said.
      if (this.closed) throw new Error(`the process exited before ${describe()}`);
      return undefined;
    }, describe, ms);
  }

  /** Waits for the `file` event `state` of `file` (a path relative to the drop folder), from line `from` on. */
  fileEvent(file: string, state: string, ms = 10000, from = 0): Promise<Line> {
    return this.waitFor((l) => l.type === 'file' && l.file === file && l.state === state, `${file} ${state}`, ms, from);
  }

  interrupt(): void {
    try {
      process.kill(-this.child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
  }

  /** Stops it (Ctrl-C) and waits for it to exit. */
  async stop(): Promise<void> {
    this.interrupt();
    await this.exited;
  }
}

/** Runs a command to its end. */
export async function run(proc: Proc, ms = 15000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const timer = setTimeout(() => proc.interrupt(), ms);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
