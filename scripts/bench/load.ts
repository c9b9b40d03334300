/**
 * The reliability issue's load figures, measured on the real bundles run one process per event
 * like SCF (scripts/sim/scf.ts), against the signature-checking fakes, on real time:
 *   - one file into an idle system: COS requests, and the time from the invocation's start to
 *     the fake CCC registering the file;
 *   - a burst of files dropped at once: COS requests per file, instance-seconds (the sum of every
 *     invocation process's wall time), how long after the last registration the last instance
 *     exits, and the UploadIvrAudio calls.
 * Every COS request a function process makes is counted; CCC's own downloads of the signed URLs
 * are not (they are CCC's requests, not ours).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cosEvent, cosEventRecord } from '../local/fakes/events';
import type { CosRequestLog } from '../local/fakes/fake-cos';
import { FAKE_BUCKET, FAKE_REGION, startFakeStack, type FakeStack } from '../local/fake-stack';
import { ScfSim, type SimInvocation } from '../sim/scf';
import { benchMp3 } from './audio';
import { median, PKG } from './cold';
import { functionNode } from './node';

const LEDGER = '.ivr-audio-sync/';

/** What one scenario measured. */
export interface Scenario {
  files: number;
  /** COS requests made by the function processes. */
  requests: number;
  /** The same requests grouped by operation and what they touched (for finding waste). */
  byKind: Record<string, number>;
  invocations: SimInvocation[];
  /** Registration time of each file in the fake CCC (real ms). */
  registeredAt: number[];
  uploadCalls: number;
  refusedForRate: number;
  /** Files per visible status, as the invocations returned them. */
  statuses: Record<string, number>;
}

/** `GET jobs`, `PUT send/tail`, `COPY object`, `LIST queue`: what a request touched. */
export function requestKind(r: CosRequestLog): string {
  if (r.op === 'DELETE_MULTI') return 'DELETE_MULTI';
  if (!r.key.startsWith(LEDGER)) return `${r.op} ${r.op === 'LIST' ? 'bucket' : 'audio object'}`;
  const rest = r.key.slice(LEDGER.length);
  const kind = rest === 'send/tail' ? 'send/tail' : rest.split('/')[0];
  return `${r.op} ${kind}`;
}

const ownRequests = (stack: FakeStack): CosRequestLog[] => stack.cos.requests.filter((r) => !r.presigned);

async function run(count: number, keyOf: (i: number) => string, seconds: (i: number) => number): Promise<Scenario> {
  // No listing lag in the fake: an idle, healthy bucket. The functions still run with the
  // deployed IVR_LIST_LAG_MS, so senders linger as long as they would on COS.
  const stack = await startFakeStack();
  const lines: string[] = [];
  try {
    const sim = new ScfSim({
      node: functionNode(),
      bundle: path.join(PKG, 'ivr_upload.js'),
      env: stack.env('ivr-upload'),
      register: (c) => stack.addCredential(c),
      log: (l) => {
        lines.push(l);
        if (lines.length > 200) lines.shift();
      },
    });
    const events = Array.from({ length: count }, (_, i) => {
      const key = keyOf(i);
      const body = benchMp3(seconds(i));
      stack.cos.putDirect(FAKE_BUCKET, key, body, { contentType: 'audio/mpeg' });
      return cosEvent(cosEventRecord({ bucket: FAKE_BUCKET, region: FAKE_REGION, key, size: body.length }));
    });
    const invocations = await Promise.all(events.map((e) => sim.invoke(e)));
    const statuses: Record<string, number> = {};
    for (const inv of invocations) {
      const results = inv.ok ? ((inv.result as { results?: Array<{ status: string }> } | undefined)?.results ?? []) : [{ status: `error: ${inv.error?.code ?? inv.error?.message ?? '?'}` }];
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    const requests = ownRequests(stack);
    const byKind: Record<string, number> = {};
    for (const r of requests) byKind[requestKind(r)] = (byKind[requestKind(r)] ?? 0) + 1;
    const calls = stack.ccc.uploadCalls();
    const registeredAt = stack.ccc.files.map((f) => f.registeredAt ?? NaN);
    if (registeredAt.length !== Math.min(count, 50)) {
      throw new Error(`${registeredAt.length} of ${count} files registered (${JSON.stringify(statuses)}); last log lines:\n${lines.slice(-15).join('\n')}`);
    }
    return { files: count, requests: requests.length, byKind, invocations, registeredAt, uploadCalls: calls.length, refusedForRate: calls.filter((c) => c.result === 'RequestLimitExceeded').length, statuses };
  } finally {
    await stack.stop();
  }
}

/** One file into an idle system (fresh fakes, empty ledger), `rounds` times; medians of the figures. */
export async function idleFile(rounds: number): Promise<{ rounds: Scenario[]; requests: number; eventToRegisteredMs: number; wallMs: number }> {
  const out: Scenario[] = [];
  for (let i = 0; i < rounds; i++) out.push(await run(1, () => `prompts/menus/welcome-${i}.mp3`, () => 6));
  return {
    rounds: out,
    requests: median(out.map((s) => s.requests)),
    eventToRegisteredMs: median(out.map((s) => s.registeredAt[0] - s.invocations[0].startedAt)),
    wallMs: median(out.map((s) => s.invocations[0].endedAt - s.invocations[0].startedAt)),
  };
}

/**
 * `count` files dropped at once, one invocation each, all started together; with the burst's
 * instance-seconds, CPU-seconds, wall time and how long the last instance outlived the last
 * registration.
 */
export async function burst(count: number): Promise<Scenario & { instanceSeconds: number; ownCoreSeconds: number; cpuSeconds: number; lastExitAfterLastRegistrationMs: number; wallMs: number }> {
  const s = await run(count, (i) => `prompts/burst/prompt-${String(i).padStart(3, '0')}.mp3`, (i) => 2 + (i % 9));
  const start = Math.min(...s.invocations.map((i) => i.startedAt));
  const lastExit = Math.max(...s.invocations.map((i) => i.endedAt));
  return {
    ...s,
    instanceSeconds: s.invocations.reduce((a, i) => a + (i.endedAt - i.startedAt), 0) / 1000,
    // Each process's wall time less the time its main thread waited for one of this machine's
    // cores: an estimate of the instance-seconds with a core per instance, as on SCF.
    ownCoreSeconds: s.invocations.reduce((a, i) => a + (i.endedAt - i.startedAt - (i.runqWaitMs ?? NaN)), 0) / 1000,
    cpuSeconds: s.invocations.reduce((a, i) => a + (i.cpuMs ?? NaN), 0) / 1000,
    lastExitAfterLastRegistrationMs: lastExit - Math.max(...s.registeredAt),
    wallMs: lastExit - start,
  };
}

/**
 * The floor of the burst's instance-seconds on this machine: `count` processes of an empty handler
 * module (it returns at once, no request) started at once through the same simulator. Whatever
 * the bundle does, a burst here cannot cost less than this; on SCF each instance has its own core.
 */
export async function emptyBurst(count: number): Promise<{ instanceSeconds: number; ownCoreSeconds: number; cpuSeconds: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-bench-empty-'));
  try {
    const empty = path.join(dir, 'empty.js');
    fs.writeFileSync(empty, 'exports.main_handler = async () => ({});\n');
    const sim = new ScfSim({ node: functionNode(), bundle: empty, env: {}, register: () => undefined });
    const invocations = await Promise.all(Array.from({ length: count }, () => sim.invoke({})));
    const failed = invocations.filter((i) => !i.ok);
    if (failed.length > 0) throw new Error(`empty burst: ${failed.length} of ${count} invocations failed: ${failed[0].error?.message ?? '?'}`);
    return {
      instanceSeconds: invocations.reduce((a, i) => a + (i.endedAt - i.startedAt), 0) / 1000,
      ownCoreSeconds: invocations.reduce((a, i) => a + (i.endedAt - i.startedAt - (i.runqWaitMs ?? NaN)), 0) / 1000,
      cpuSeconds: invocations.reduce((a, i) => a + (i.cpuMs ?? NaN), 0) / 1000,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
