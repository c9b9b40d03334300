/**
 * Starts the fake COS and CCC on loopback and builds the environment a deployed function would
 * see, pointed at them. Every integration test goes through this.
 */
import type { Env } from '../shared/core/config';
import { nextQuotaDayStart } from '../shared/core/zone';
import { setLogSink } from '../shared/runtime/log';
import type { Seams } from '../shared/wiring/scf';
import type { Clock } from '../shared/workflow/context';
import { TEST_CREDENTIAL } from '../scripts/local/fakes/credentials';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { FakeCcc, type FakeCccOptions } from '../scripts/local/fakes/fake-ccc';
import { FakeCos } from '../scripts/local/fakes/fake-cos';

/** Stack time a test gets before its quota day ends, at least (see `startStack`). */
const DAY_CLEARANCE_MS = 3 * 3600_000;

export const BUCKET = 'prompts-1250000000';
export const REGION = 'ap-guangzhou';
export const SDK_APP_ID = 1400000001;

/**
 * Time that runs `speed` times faster than the wall clock, for everything: the functions, the fake
 * CCC's one-second window and quota day, the fake COS's listing lag. Durations keep their real
 * proportions (a second is a second for all parties, I/O included), only faster; `advance` jumps
 * ahead for long waits (a lease, a call's lifetime, a quota day). Signatures are still checked
 * against real time, as the SDKs sign with it.
 *
 * The speed-up magnifies CPU starvation too: on a loaded machine a process that waits 100 ms for a
 * core has lost a whole second of stack time, as if every COS request in flight had taken that
 * long. A test whose outcome depends on the functions keeping up with the protocol's windows (a
 * call starts within `IVR_CLOCK_SKEW_MS` of its window opening) either runs slower (see
 * `StackOptions.clockSpeed`) or {@link freeze}s the clock.
 */
export class TestClock implements Clock {
  private readonly start = Date.now();
  skip = 0;
  /** Set by {@link freeze}: the stack time, less `skip`, at which time stopped following the wall clock. */
  private frozenAt?: number;
  constructor(readonly speed = Number(process.env.IVR_TEST_CLOCK_SPEED ?? 10)) {}
  now = (): number => (this.frozenAt ?? this.start + (Date.now() - this.start) * this.speed) + this.skip;
  sleep = (ms: number): Promise<void> => {
    if (this.frozenAt === undefined) return new Promise((r) => setTimeout(r, Math.max(0, ms) / this.speed));
    this.skip += Math.max(0, ms);
    return new Promise((r) => setImmediate(r));
  };
  /** Jumps ahead, as if that much time had passed. */
  advance(ms: number): void {
    this.skip += ms;
  }
  /**
   * From now on, time moves only when someone sleeps (by exactly that long) or the test advances
   * it: however slowly the machine runs the code in between, no time passes for it. For tests of
   * one invocation at a time (concurrent sleeps would add up), whose assertions are about what the
   * functions do on time, not about what they do when they fall behind.
   */
  freeze(): void {
    this.frozenAt ??= this.now() - this.skip;
  }
}

/** Options of the harness itself (the fakes' own are `FakeCccOptions`). */
export interface StackOptions {
  /**
   * How many times faster than the wall clock the stack's time runs (never faster than
   * IVR_TEST_CLOCK_SPEED, when set). The default, 10, suits tests that wait; 1 keeps a loaded
   * machine's stalls at their real length, for tests that race many invocations against the
   * protocol's windows.
   */
  clockSpeed?: number;
}

export interface Stack {
  cos: FakeCos;
  ccc: FakeCcc;
  env: Env;
  logs: string[];
  clock: TestClock;
  /** Seams that put a handler on the stack's clock. */
  seams: Seams;
  /** Uploads an object as a user would (no event) and returns the Put event SCF would deliver. */
  drop(key: string, body: Buffer, meta?: Record<string, string>): ReturnType<typeof cosEvent>;
  event(key: string, opts?: { eventName?: string; encodeKeyField?: boolean }): ReturnType<typeof cosEventRecord>;
  meta(key: string): Record<string, string>;
  stop(): Promise<void>;
}

/** Log lines that contain a secret key, a session token, a signature or a signed URL's query. */
export function findLeaks(lines: string[]): string[] {
  const secrets = [TEST_CREDENTIAL.secretKey, TEST_CREDENTIAL.token!];
  // Also in the JSON form a service may quote them in (`"q-signature":"…"`).
  const patterns = [/q-signature(?:=|\\?"\s*:\s*\\?")[0-9a-f]{8}/i, /Signature\w*[=:]\s*[0-9a-f]{16}/, /x-cos-security-token(?:=|\\?"\s*:\s*\\?")(?!\[REDACTED\])[^&"\\\s]/i, /q-sign-algorithm=sha1[^"\s]*q-ak=(?!\[REDACTED\])/];
  return lines.filter((l) => secrets.some((s) => l.includes(s)) || patterns.some((p) => p.test(l)));
}

export async function startStack(opts: Partial<FakeCccOptions> = {}, envOverrides: Env = {}, harness: StackOptions = {}): Promise<Stack> {
  const clock = harness.clockSpeed === undefined ? new TestClock() : new TestClock(Math.min(harness.clockSpeed, Number(process.env.IVR_TEST_CLOCK_SPEED ?? 10)));
  // Stack time runs 10× faster: a test started in the last real minutes of a quota day would see
  // the day change between two of its reads of "today". Start such a stack just after that
  // midnight instead; tests that cross a day do it on purpose, with `advance`. (480: the fake
  // CCC's and the functions' default zone, UTC+08:00.)
  const midnight = nextQuotaDayStart(clock.now(), opts.quotaUtcOffsetMinutes ?? 480);
  if (midnight - clock.now() < DAY_CLEARANCE_MS) clock.advance(midnight - clock.now() + 60_000);
  const cos = await new FakeCos({ credentials: [TEST_CREDENTIAL], time: clock.now, sleep: clock.sleep }).start();
  const ccc = await new FakeCcc({ credentials: [TEST_CREDENTIAL], cos: { host: '127.0.0.1', port: cos.port }, time: clock.now, sleep: clock.sleep, ...opts }).start();
  cos.createBucket(BUCKET);
  const logs: string[] = [];
  const previous = setLogSink((line) => logs.push(line));
  const env: Env = {
    CCC_SDK_APP_ID: String(SDK_APP_ID),
    TENCENTCLOUD_SECRETID: TEST_CREDENTIAL.secretId,
    TENCENTCLOUD_SECRETKEY: TEST_CREDENTIAL.secretKey,
    TENCENTCLOUD_SESSIONTOKEN: TEST_CREDENTIAL.token,
    TENCENTCLOUD_REGION: REGION,
    CCC_ENDPOINT: ccc.endpoint,
    COS_ENDPOINT: cos.endpoint,
    IVR_RETRY_BASE_MS: '20',
    // No listing lag in these fakes unless a test asks for one: senders need not linger long.
    IVR_LIST_LAG_MS: '200',
    // Time runs 10× faster here: allow for the scheduling jitter of a busy test machine, magnified.
    IVR_CLOCK_SKEW_MS: '1000',
    ...envOverrides,
  };
  const event = (key: string, o: { eventName?: string; encodeKeyField?: boolean } = {}) =>
    cosEventRecord({ bucket: BUCKET, region: REGION, key, size: cos.object(BUCKET, key)?.body.length ?? 0, ...o });
  return {
    cos,
    ccc,
    env,
    logs,
    clock,
    seams: { clock },
    drop(key, body, meta = {}) {
      cos.putDirect(BUCKET, key, body, { contentType: key.endsWith('.wav') ? 'audio/wav' : 'audio/mpeg', meta });
      return cosEvent(event(key));
    },
    event,
    meta(key) {
      return cos.object(BUCKET, key)?.meta ?? {};
    },
    async stop() {
      setLogSink(previous);
      await Promise.all([cos.stop(), ccc.stop()]);
      // Every integration test doubles as a leak check of everything the functions logged.
      const leaked = findLeaks(logs);
      if (leaked.length > 0) throw new Error(`secrets in logs: ${leaked[0].slice(0, 300)}`);
    },
  };
}
