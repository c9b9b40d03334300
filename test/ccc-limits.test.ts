/**
 * CCC's limits other than UploadIvrAudio's: `DescribeIvrAudioList` takes 20 calls a second. On a
 * virtual clock, so that what is asserted is when the function asks, not network jitter.
 */
import { setLogSink } from '../shared/runtime/log';
import { DESCRIBE_GAP_MS } from '../shared/workflow/resolve';
import { mp3Silence } from './audio';
import { World } from './world';

beforeAll(() => setLogSink(() => undefined));

test('settling a 50-file call after an internal error asks CCC about each file, never more than 15 times in any second', async () => {
  const w = new World({ IVR_MAX_BATCH: '50' });
  const asked: number[] = [];
  const describe = w.api.describe;
  w.api = { ...w.api, describe: (q) => (asked.push(w.t), describe(q)) };
  w.answer = async () => (w.calls.length === 1 ? { ok: false, failure: { kind: 'api', code: 'InternalError.DBError', message: 'busy' } } : undefined);
  const names = Array.from({ length: 50 }, (_, i) => `many-${i}`);
  for (const [i, n] of names.entries()) w.objects.putObject(`prompts/${n}.mp3`, mp3Silence(2 + (i % 3)));
  await w.deliver(names.map((n) => `prompts/${n}.mp3`), 'intake-many');
  expect(asked.length).toBe(50);
  for (let i = 1; i < asked.length; i++) expect(asked[i] - asked[i - 1]).toBeGreaterThanOrEqual(DESCRIBE_GAP_MS);
  const most = Math.max(...asked.map((t) => asked.filter((u) => u >= t && u < t + 1000).length));
  expect(most).toBeLessThanOrEqual(15);
  expect(names.map((n) => w.status(n))).toEqual(names.map(() => 'uploaded'));
  expect(new Set(w.ccc.files.map((f) => f.customFileName)).size).toBe(50);
});
