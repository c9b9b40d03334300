/**
 * A small SCF simulator for the fault suite and the bench: an invocation runs a built function
 * bundle in a Node process with credentials of its own (so the fakes can tell callers apart and
 * kill the right process), and reports its result, its exit and its wall time. The bench gives
 * every invocation a fresh process; the fault suite keeps idle processes warm for a while and
 * reuses them, one invocation at a time, as SCF does (`warm`).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { FakeCredential } from '../local/fakes/credentials';

export interface SimInvocation {
  /** Sequence number of the invocation. */
  n: number;
  pid?: number;
  secretId: string;
  startedAt: number;
  endedAt: number;
  /** Killed by the simulator (SIGKILL): it returned nothing. */
  killed: boolean;
  ok: boolean;
  result?: unknown;
  error?: { code?: string; message: string };
  /** CPU time (user + system) of the process from its start, when it reported one (not when killed). */
  cpuMs?: number;
  /** Time the process's main thread was ready to run but waited for a core (Linux), when it reported one. */
  runqWaitMs?: number;
}

export interface SimOptions {
  /** Path of the built bundle (dist/package/<fn>.js). */
  bundle: string;
  /** The function's environment, without credentials (each process gets its own). */
  env: Record<string, string>;
  /** Called with each process's credentials before it starts (register them with the fakes). */
  register: (c: FakeCredential) => void;
  /** Where the functions' log lines go (default: dropped). */
  log?: (line: string) => void;
  /** The Node binary each instance runs on (default: this one's; the bench may name SCF's, see scripts/bench/node.ts). */
  node?: string;
  /**
   * Warm instances, as SCF keeps them: an invocation goes to an idle process when there is one
   * (one invocation at a time each), which is ended after `keepWarmMs` without work. Without
   * this, every invocation gets a fresh process.
   */
  warm?: { keepWarmMs: number };
  /**
   * Three letters that go into every credential this simulator hands out (default `sim`): two
   * simulators in one world (the upload and the timer function) must never hand out the same
   * SecretId, or a kill aimed at one function's process could hit the other's.
   */
  tag?: string;
  /**
   * Each process's clock set apart from the others by up to `spreadMs` in all (an offset drawn
   * with `random` in ±spreadMs/2, on top of `SIM_CLOCK_OFFSET_MS`): instances on SCF do not share
   * one clock, and the functions allow `IVR_CLOCK_SKEW_MS` between any two.
   */
  clockSpread?: { spreadMs: number; random: () => number };
}

const INVOKE = path.join(__dirname, 'invoke.cjs');

type Outcome = { ok: boolean; result?: unknown; error?: { code?: string; message: string }; cpuMs?: number; runqWaitMs?: number };

/** One process: an instance, with the invocation it is serving. */
interface Instance {
  child: ChildProcess;
  cred: FakeCredential;
  busy?: { n: number; startedAt: number; resolve: (inv: SimInvocation) => void };
  /** A one-shot process's outcome line, held until the process has exited (its wall time includes the exit). */
  outcome?: Outcome;
  idleTimer?: NodeJS.Timeout;
  /** Its stdin was ended: it takes no more events. */
  retiring: boolean;
  /** Started with an environment of its own: never given another invocation's event. */
  special: boolean;
  /** Started with an environment since replaced (`setEnv`): ended once idle. */
  stale?: boolean;
  exited: boolean;
}

export class ScfSim {
  private n = 0;
  /** Every process this simulator started and that still runs, by credential. */
  readonly running = new Map<string, Instance>();
  readonly done: SimInvocation[] = [];
  /** Credential of the process the latest invocation went to (set as soon as `invoke` returns). */
  lastStarted = '';
  private procs = 0;
  private stopped = false;

  constructor(private readonly opts: SimOptions) {}

  /** Kills the process that signed with this credential, if it is serving an invocation. */
  kill(secretId: string): boolean {
    const p = this.running.get(secretId);
    if (!p || p.exited || !p.busy) return false;
    p.child.kill('SIGKILL');
    return true;
  }

  /** Credentials of the processes serving an invocation right now. */
  busy(): string[] {
    return [...this.running.values()].filter((p) => p.busy && !p.exited).map((p) => p.cred.secretId);
  }

  /**
   * Changes the environment of the processes started from now on (the fault suite moves the
   * clock so): idle warm processes are ended, busy ones once their invocation is over.
   */
  setEnv(patch: Record<string, string>): void {
    Object.assign(this.opts.env, patch);
    for (const p of [...this.running.values()]) {
      p.stale = true;
      if (!p.busy) this.retire(p);
    }
  }

  /** Ends every idle warm process, and each busy one once its invocation is over (the fault suite calls it when a run is over). */
  stopIdle(): void {
    this.stopped = true;
    for (const p of [...this.running.values()]) if (!p.busy) this.retire(p);
  }

  invoke(event: unknown, extraEnv: Record<string, string> = {}): Promise<SimInvocation> {
    const n = ++this.n;
    const idle = this.opts.warm && Object.keys(extraEnv).length === 0 ? [...this.running.values()].reverse().find((p) => !p.busy && !p.exited && !p.retiring && !p.special && !p.stale) : undefined;
    const p = idle ?? this.start(extraEnv);
    if (p.idleTimer) clearTimeout(p.idleTimer);
    this.lastStarted = p.cred.secretId;
    return new Promise((resolve) => {
      p.busy = { n, startedAt: Date.now(), resolve };
      p.child.stdin!.write(JSON.stringify(event) + '\n');
      if (!this.opts.warm) p.child.stdin!.end();
    });
  }

  private start(extraEnv: Record<string, string>): Instance {
    const k = ++this.procs;
    const tag = (this.opts.tag ?? 'sim').padEnd(3, 'x').slice(0, 3);
    const cred: FakeCredential = { secretId: `AKID${tag}${String(k).padStart(6, '0')}aaaaaaaaaaaaaaaaaaaaaaa`, secretKey: `${tag}SecretKey${k}xxxxxxxxxxxxxxxxxxxxx`, token: `${tag}Token${k}yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy` };
    this.opts.register(cred);
    const spread = this.opts.clockSpread;
    const ownClock = spread ? { SIM_CLOCK_OFFSET_MS: String(Number(this.opts.env.SIM_CLOCK_OFFSET_MS ?? 0) + Math.round((spread.random() - 0.5) * spread.spreadMs)) } : {};
    const child = spawn(this.opts.node ?? process.execPath, [INVOKE, this.opts.bundle], {
      env: { PATH: process.env.PATH ?? '', ...this.opts.env, ...ownClock, ...extraEnv, ...(this.opts.warm ? { SIM_WARM: '1' } : {}), TENCENTCLOUD_SECRETID: cred.secretId, TENCENTCLOUD_SECRETKEY: cred.secretKey, TENCENTCLOUD_SESSIONTOKEN: cred.token! },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p: Instance = { child, cred, retiring: false, special: Object.keys(extraEnv).length > 0, exited: false };
    this.running.set(cred.secretId, p);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      const lines = (out + c).split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        if (this.opts.warm) this.finish(p, parseOutcome(line), undefined, '');
        else p.outcome = parseOutcome(line);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const lines = err.split('\n');
      err = lines.pop() ?? '';
      if (this.opts.log) for (const l of lines) this.opts.log(l);
    });
    // 'close', not 'exit': 'exit' can come before the last of stdout is read (seen in a 50-process burst).
    child.on('close', (_code, signal) => {
      p.exited = true;
      if (p.idleTimer) clearTimeout(p.idleTimer);
      this.running.delete(cred.secretId);
      this.finish(p, out.trim() ? parseOutcome(out) : p.outcome, signal, err);
    });
    return p;
  }

  /** Resolves the invocation `p` is serving with its outcome line (none: the process died first). */
  private finish(p: Instance, parsed: Outcome | undefined, signal: NodeJS.Signals | null | undefined, err: string): void {
    const busy = p.busy;
    if (!busy) return;
    p.busy = undefined;
    const inv: SimInvocation = {
      n: busy.n,
      pid: p.child.pid,
      secretId: p.cred.secretId,
      startedAt: busy.startedAt,
      endedAt: Date.now(),
      killed: signal === 'SIGKILL',
      ok: parsed?.ok ?? false,
      result: parsed?.result,
      error: parsed?.error ?? (parsed ? undefined : { message: signal ? `killed (${signal})` : `exited without a result: ${err.slice(-300)}` }),
      ...(typeof parsed?.cpuMs === 'number' ? { cpuMs: parsed.cpuMs } : {}),
      ...(typeof parsed?.runqWaitMs === 'number' ? { runqWaitMs: parsed.runqWaitMs } : {}),
    };
    this.done.push(inv);
    if (this.opts.warm && !p.exited) {
      if (this.stopped || p.stale) this.retire(p);
      else {
        p.idleTimer = setTimeout(() => this.retire(p), this.opts.warm.keepWarmMs);
        p.idleTimer.unref();
      }
    }
    busy.resolve(inv);
  }

  private retire(p: Instance): void {
    if (p.idleTimer) clearTimeout(p.idleTimer);
    if (p.exited || p.busy || p.retiring) return;
    p.retiring = true;
    p.child.stdin!.end();
  }
}

function parseOutcome(line: string): Outcome | undefined {
  try {
    return JSON.parse(line.trim()) as Outcome;
  } catch {
    return undefined;
  }
}
