/**
 * An accepting sender promises to pick up files queued by others until `acceptUntil`, and keeps
 * listing the queue for `IVR_LIST_LAG_MS` after that (a listing may miss a new entry that long).
 * An intake that saw the promise returns as soon as its file is queued. The sender must keep that
 * promise even when its term ends first and its last call could no longer accept others: else a
 * file queued late in the promise, still missing from listings, waits for the recovery pass.
 */
import { loadConfig, type Env } from '../shared/core/config';
import { createLogger, setLogSink } from '../shared/runtime/log';
import { Ledger } from '../shared/store/ledger';
import { MemoryObjects } from '../shared/store/objects';
import { MemoryStore, type Listed } from '../shared/store/store';
import { timingFrom } from '../shared/core/timing';
import type { Ctx } from '../shared/workflow/context';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { MemoryCcc } from './memory-ccc';

const BUCKET = 'prompts-1250000000';
// A short term (3 s), so that the sender's term ends inside its promise.
const ENV: Env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key', TENCENTCLOUD_REGION: 'ap-guangzhou', IVR_BUCKET: BUCKET, IVR_WAIT_SECONDS: '3' };
beforeAll(() => setLogSink(() => undefined));

/** Listings miss queue entries younger than `lagMs`, as COS's may (no more than IVR_LIST_LAG_MS). */
class LaggingStore extends MemoryStore {
  constructor(
    private readonly clock: () => number,
    private readonly lagMs: number,
  ) {
    super(clock);
  }

  override async list(prefix: string, limit?: number): Promise<Listed[]> {
    return (await super.list(prefix, limit)).filter((l) => !l.key.includes('/queue/') || l.lastModified <= this.clock() - this.lagMs);
  }
}

test('a sender whose term ends inside its promise still lists until the promise ends, and sends a file queued late in it', async () => {
  let t = Date.parse('2026-11-25T03:00:00Z');
  const config = loadConfig(ENV);
  const timing = timingFrom(config);
  const store = new LaggingStore(() => t, config.listLagMs);
  const objects = new MemoryObjects();
  const ccc = new MemoryCcc(objects, () => t);
  /** Other invocations that start while the one under test sleeps, at the time given. */
  const others: Array<{ at: number; run: () => Promise<unknown> }> = [];
  const sleep = async (ms: number): Promise<void> => {
    const end = t + Math.max(0, ms);
    for (;;) {
      const next = others.filter((o) => o.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      others.splice(others.indexOf(next), 1);
      t = Math.max(t, next.at);
      await next.run();
    }
    t = Math.max(t, end);
  };
  let duringNextUpload: (() => Promise<unknown>) | undefined;
  const api: Ctx['api'] = {
    upload: async (items) => {
      const during = duringNextUpload;
      duringNextUpload = undefined;
      if (during) await during();
      return ccc.upload(items);
    },
    describe: (q) => ccc.describe(q),
  };
  const ctx = (owner: string): Ctx => ({ config, timing, ledger: new Ledger(store, config.ledgerPrefix), objects, api, log: createLogger(), clock: { now: () => t, sleep }, owner });
  const deliver = async (name: string, seconds: number) => {
    const key = `prompts/${name}.mp3`;
    const o = objects.putObject(key, mp3Silence(seconds));
    const c = ctx(`intake-${name}`);
    return handleCosEvent(cosEvent(cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: o.body.length })), () => c, c.log);
  };
  const status = (name: string) => objects.objects.get(`prompts/${name}.mp3`)?.meta['ivr-status'];

  // a: into an idle system, sent at once by its own invocation.
  await deliver('a', 2);
  expect(status('a')).toBe('uploaded');
  // b, a moment later: a call is less than a gap ago, so its invocation takes the lease as an
  // accepting sender and calls a gap after a's call. During that call, d is queued and left to it.
  t += 100;
  duringNextUpload = () => deliver('d', 3);
  const start = t;
  // c is queued late in the promise b's call made (before `acceptUntil` less the skew), when b's
  // term has nearly ended: b's next call, for d, can no longer promise anything.
  others.push({ at: start + 2200, run: () => deliver('c', 4) });
  await deliver('b', 5);

  expect({ b: status('b'), d: status('d'), c: status('c') }).toEqual({ b: 'uploaded', d: 'uploaded', c: 'uploaded' });
  expect(ccc.files).toHaveLength(4);
});
