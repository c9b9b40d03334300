/** A function bundle running in its own process, invoked over IPC like an SCF instance. */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CLOCK_ENV, clockOffset } from './clock';
import { bundlePath } from './settings';

/** An invocation's outcome: the handler's return value, or what it threw. */
export type Invocation = { ok: true; result: unknown } | { ok: false; error: { code?: string; message: string } };

/** One warm instance of a function: a child process serving invocations one IPC message each. */
export class FunctionInstance {
  private child: ChildProcess;
  private waiting = new Map<string, (r: Invocation) => void>();
  private seq = 0;

  constructor(
    readonly name: string,
    env: NodeJS.ProcessEnv,
    logFile: string,
  ) {
    const bundle = bundlePath(name);
    if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const log = fs.openSync(logFile, 'a');
    // The instance starts on the clock of the process that starts it (the stack's, moved by next-day).
    const withClock = { ...env, [CLOCK_ENV]: String(clockOffset()) };
    this.child = fork(path.join(__dirname, 'scf-runtime.cjs'), [bundle], { env: withClock, stdio: ['ignore', log, log, 'ipc'] });
    fs.closeSync(log);
    this.child.on('message', (m: { id: string } & Invocation) => {
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
    this.child.on('exit', () => {
      for (const done of this.waiting.values()) done({ ok: false, error: { code: 'InstanceExited', message: `${name} exited` } });
      this.waiting.clear();
    });
  }

  /** The instance's process id (for the banner's JSON and the tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Sends one event, as SCF does to a warm instance; resolves with the handler's outcome. An
   * instance that has exited (a Ctrl-C reaches it too, before the stack stops sending) answers
   * `InstanceExited`: sending to it would be an uncaught error that takes the whole stack down.
   */
  invoke(event: unknown): Promise<Invocation> {
    const id = `${this.name}-${Date.now()}-${++this.seq}`;
    const exited: Invocation = { ok: false, error: { code: 'InstanceExited', message: `${this.name} exited` } };
    return new Promise((resolve) => {
      if (!this.child.connected) return resolve(exited);
      this.waiting.set(id, resolve);
      this.child.send({ id, event }, (e) => {
        if (!e) return;
        this.waiting.delete(id);
        resolve(exited);
      });
    });
  }

  /**
   * Moves the instance's clock to `offsetMs` ahead of real time. Invocations sent after this run
   * on the new time (IPC keeps order); call it when none is running, so no call sees time jump.
   */
  setClockOffset(offsetMs: number): void {
    // An instance that exited meanwhile has no clock to move: the error is not worth a crash.
    if (this.child.connected) this.child.send({ clockOffsetMs: offsetMs }, () => undefined);
  }

  /** True once the instance's process has exited (a Ctrl-C in the terminal reaches it too). */
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves true once the process has exited, or false if it is still running after `ms`. */
  exitedWithin(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.exited), ms);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Invocations sent and not answered yet. */
  get busy(): number {
    return this.waiting.size;
  }

  /** Lets the instance exit (it finishes nothing new); killed after 3 s if it does not. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      // A Ctrl-C reaches the instance too (same process group): it may have let go of the channel already.
      if (this.child.connected) this.child.disconnect();
      setTimeout(() => this.child.kill('SIGKILL'), 3000).unref();
    });
  }
}
