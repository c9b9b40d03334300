/**
 * A small SCF simulator for the fault suite and the bench: every invocation runs a built function
 * bundle in a fresh Node process with credentials of its own (so the fakes can tell callers apart
 * and kill the right process), and reports its result, its exit and its wall time.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { FakeCredential } from '../local/fakes/credentials';

export interface SimInvocation {
  /** Sequence number, also in the process's credentials. */
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
}

const INVOKE = path.join(__dirname, 'invoke.cjs');

export class ScfSim {
  private n = 0;
  /** Every process this simulator started, by credential. */
  readonly running = new Map<string, { child: ChildProcess; n: number }>();
  readonly done: SimInvocation[] = [];
  /** Credential of the process started last (set as soon as `invoke` returns). */
  lastStarted = '';

  constructor(private readonly opts: SimOptions) {}

  /** Kills the process that signed with this credential, if it is still running. */
  kill(secretId: string): boolean {
    const p = this.running.get(secretId);
    if (!p || p.child.exitCode !== null) return false;
    p.child.kill('SIGKILL');
    return true;
  }

  invoke(event: unknown, extraEnv: Record<string, string> = {}): Promise<SimInvocation> {
    const n = ++this.n;
    const cred: FakeCredential = { secretId: `AKIDsim${String(n).padStart(6, '0')}aaaaaaaaaaaaaaaaaaaaaaa`, secretKey: `simSecretKey${n}xxxxxxxxxxxxxxxxxxxxx`, token: `simToken${n}yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy` };
    this.opts.register(cred);
    const startedAt = Date.now();
    const child = spawn(process.execPath, [INVOKE, this.opts.bundle], {
      env: { PATH: process.env.PATH ?? '', ...this.opts.env, ...extraEnv, TENCENTCLOUD_SECRETID: cred.secretId, TENCENTCLOUD_SECRETKEY: cred.secretKey, TENCENTCLOUD_SESSIONTOKEN: cred.token! },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.running.set(cred.secretId, { child, n });
    this.lastStarted = cred.secretId;
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const lines = err.split('\n');
      err = lines.pop() ?? '';
      if (this.opts.log) for (const l of lines) this.opts.log(l);
    });
    child.stdin!.end(JSON.stringify(event));
    return new Promise((resolve) => {
      // 'close', not 'exit': 'exit' can come before the last of stdout is read (seen in a 50-process burst).
      child.on('close', (_code, signal) => {
        this.running.delete(cred.secretId);
        const last = out.trim().split('\n').pop() ?? '';
        let parsed: { ok: boolean; result?: unknown; error?: { code?: string; message: string }; cpuMs?: number; runqWaitMs?: number } | undefined;
        try {
          parsed = JSON.parse(last) as typeof parsed;
        } catch {
          parsed = undefined;
        }
        const inv: SimInvocation = {
          n,
          pid: child.pid,
          secretId: cred.secretId,
          startedAt,
          endedAt: Date.now(),
          killed: signal === 'SIGKILL',
          ok: parsed?.ok ?? false,
          result: parsed?.result,
          error: parsed?.error ?? (parsed ? undefined : { message: signal ? `killed (${signal})` : `exited without a result: ${err.slice(-300)}` }),
          ...(typeof parsed?.cpuMs === 'number' ? { cpuMs: parsed.cpuMs } : {}),
          ...(typeof parsed?.runqWaitMs === 'number' ? { runqWaitMs: parsed.runqWaitMs } : {}),
        };
        this.done.push(inv);
        resolve(inv);
      });
    });
  }
}
