/**
 * `npm run bench`: prints the performance figures the README reports. Nothing here asserts time;
 * the targets are printed next to each figure.
 *   bundle size (minified, gzip) · cold init vs an empty Node and a naive bundle · peak RSS of a
 *   cold invocation · warm CPU per file · a burst of N files with CCC's limits enforced
 */
import { spawn, spawnSync } from 'child_process';
import { build } from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { createHandler } from '../functions/ivr-upload/handler';
import { judgeAudio } from '../shared/audio/check';
import { checkFile, checkKey } from '../shared/core/eligibility';
import { parseCosEvent } from '../shared/core/event';
import { jobId, queuedJob, transition, visibleResult } from '../shared/core/job';
import { redact, setLogSink } from '../shared/runtime/log';
import { mergeResult, readResult, sameResult } from '../shared/core/metadata';
import { customFileName } from '../shared/core/naming';
import { matchOutcomes } from '../shared/core/outcome';
import { mp3Silence } from '../test/audio';
import { cosEvent, cosEventRecord } from './local/fakes/events';
import { BUCKET, REGION, startStack } from '../test/harness';

const ROOT = path.resolve(__dirname, '..');
const PKG = path.join(ROOT, 'dist', 'package');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BURST = Number(process.env.BENCH_BURST ?? 60);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Array<[string, string, string]> = [];
const row = (what: string, figure: string, target: string) => {
  rows.push([what, figure, target]);
  process.stdout.write(`  ${what}: ${figure}  (${target})\n`);
};
const tick = (ok: boolean) => (ok ? 'met' : 'NOT met');

/** CPU of every pure decision one file goes through, averaged over many files. */
function coreDecisionsPerFileMs(): number {
  const record = cosEventRecord({ bucket: BUCKET, region: REGION, key: 'prompts/menus/欢迎 main.mp3', size: 4180 });
  const head = mp3Silence(12);
  const n = 20000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const [parsed] = parseCosEvent({ Records: [record] });
    if (!parsed.ok) throw parsed.error;
    const key = parsed.event.key;
    checkKey(key, 'prompts/', '.ivr-audio-sync/');
    checkFile(key, 4180);
    judgeAudio(head, 'mp3', head.length, { convert: 'auto' });
    const name = customFileName(key, undefined) as string;
    const id = jobId(BUCKET, key, 'd41d8cd98f00b204e9800998ecf8427e');
    const queued = queuedJob(id, { bucket: BUCKET, key, etag: 'e', size: 4180, customName: name, queuedAt: Date.now(), head: { standard: {}, meta: {} } }, Date.now(), 'bench');
    const [o] = matchOutcomes([{ customName: name, urlFileName: 'x.mp3' }], { requestId: 'r', succeeded: [{ fileId: 1000 + i, customFileName: name, audioFileName: 'a.mp3', status: 0 }], failed: [] });
    const sending = transition(queued, 'send', Date.now(), 'bench', { call: 1 });
    const done = transition(sending, 'registered', Date.now(), 'bench', { upload: { fileId: o.status === 'uploaded' ? o.file.fileId : 0, audioFileName: 'a.mp3', requestId: 'r', review: 'pending' } });
    const result = visibleResult(done);
    const meta = mergeResult({ owner: 'ops' }, result);
    sameResult(readResult(meta), result);
    redact(JSON.stringify({ msg: 'record done', key, id, ...result }));
  }
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

async function naiveBundle(dir: string): Promise<string> {
  const out = path.join(dir, 'naive.js');
  await build({ entryPoints: [path.join(__dirname, 'bench', 'naive-entry.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node16', minify: true, logLevel: 'error' });
  return out;
}

function timeNode(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main(): Promise<void> {
  process.stdout.write(`ivr-audio-sync bench · Node ${process.version} · ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}\n\n`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-bench-'));

  process.stdout.write('Bundles\n');
  for (const f of ['ivr_upload.js', 'quota_report.js']) {
    const buf = fs.readFileSync(path.join(PKG, f));
    row(`${f} size`, `${(buf.length / 1024).toFixed(0)} KB minified, ${(gzipSync(buf).length / 1024).toFixed(0)} KB gzip`, `target ≤ 400 KB: ${tick(buf.length <= 400 * 1024)}`);
  }
  const naive = await naiveBundle(tmp);
  row('naive bundle (both SDK roots) size', `${(fs.statSync(naive).size / 1024).toFixed(0)} KB`, 'baseline');

  const stack = await startStack();
  const env = { ...process.env, ...stack.env } as NodeJS.ProcessEnv;
  const child = path.join(__dirname, 'bench', 'child.cjs');
  process.stdout.write(`\nCold init (load the bundle and get main_handler; median of ${RUNS} interleaved runs)\n`);
  const times = { empty: [] as number[], ours: [] as number[], naive: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    times.empty.push(timeNode(['-e', ''], env));
    times.ours.push(timeNode([child, 'init', path.join(PKG, 'ivr_upload.js')], env));
    times.naive.push(timeNode([child, 'init', naive], env));
  }
  const [e, o, n] = [median(times.empty), median(times.ours), median(times.naive)];
  row('empty Node process', `${e.toFixed(0)} ms`, 'baseline');
  row('ivr_upload.js', `${o.toFixed(0)} ms = ${(o / e).toFixed(2)}× empty, ${(o / n).toFixed(2)}× naive`, `targets ≤ 1.5× empty: ${tick(o / e <= 1.5)}; ≤ 0.25× naive: ${tick(o / n <= 0.25)}`);
  row('naive bundle', `${n.toFixed(0)} ms`, 'baseline');

  process.stdout.write('\nOne cold invocation, then warm ones (a fresh process, against the fakes)\n');
  const files = 12;
  const events = Array.from({ length: files }, (_, i) => {
    const key = `prompts/bench/warm-${i}.mp3`;
    stack.cos.putDirect(BUCKET, key, mp3Silence(3 + i));
    return cosEvent(cosEventRecord({ bucket: BUCKET, region: REGION, key, size: 0 }));
  });
  const eventsFile = path.join(tmp, 'events.json');
  fs.writeFileSync(eventsFile, JSON.stringify(events));
  // Asynchronous: the fakes live in this process and must keep answering.
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, [child, 'invoke', path.join(PKG, 'ivr_upload.js'), eventsFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (text += c));
    p.stderr.on('data', (c: Buffer) => (err = (err + c).slice(-4000)));
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`invocation run failed: ${err}`))));
  });
  const inv = JSON.parse(out.trim().split('\n').pop()!) as { coldMs: number; maxRssKiB: number; warmCpuMs: number[] };
  const rssMiB = inv.maxRssKiB / 1024;
  row('peak RSS, cold invocation of one file', `${rssMiB.toFixed(1)} MiB`, `target ≤ 64 MiB: ${tick(rssMiB <= 64)}; SCF 64 MB tier ${rssMiB <= 48 ? 'fits' : 'too tight: use 128 MB'}`);
  row('cold invocation wall time (incl. waiting for its rate second)', `${inv.coldMs.toFixed(0)} ms`, 'info');
  const warm = median(inv.warmCpuMs);
  const core = coreDecisionsPerFileMs();
  row('warm per-file overhead: the functional core', `${core.toFixed(3)} ms (event parsing, checks, naming, ledger decisions, metadata, outcome, log line)`, `target ≤ 5 ms: ${tick(core <= 5)}`);
  row('warm per-file CPU in the function process, all in', `${warm.toFixed(1)} ms median (${files - 1} files; ~22 ledger/metadata requests through the COS SDK + 1 CCC call)`, `target ≤ 5 ms: ${tick(warm <= 5)}`);
  await stack.stop();

  process.stdout.write(`\nBurst: ${BURST} files dropped at once, limits enforced (1 call/s, 50 files/day)\n`);
  const burstStack = await startStack();
  const logs: string[] = [];
  setLogSink((l) => logs.push(l));
  const keys = Array.from({ length: BURST }, (_, i) => `prompts/burst/f${String(i).padStart(3, '0')}.mp3`);
  const drops = keys.map((k, i) => burstStack.drop(k, mp3Silence(2 + (i % 9))));
  const t0 = Date.now();
  const summaries = await Promise.all(drops.map((ev) => createHandler(burstStack.env)(ev).catch((err: Error) => ({ results: [{ status: `error ${err.message}` }] }))));
  const wall = Date.now() - t0;
  const states: Record<string, number> = {};
  for (const s of summaries) for (const x of s.results) states[x.status] = (states[x.status] ?? 0) + 1;
  const calls = burstStack.ccc.uploadCalls();
  const okCalls = calls.filter((c) => c.result === 'ok');
  const limited = calls.filter((c) => c.result === 'RequestLimitExceeded').length;
  const uploaded = states.uploaded ?? 0;
  row('UploadIvrAudio calls', `${calls.length} (${okCalls.map((c) => c.files).join('+')} files)`, `goal: the ${Math.min(50, BURST)} within quota in ≤ 5 calls: ${tick(okCalls.length <= 5 && uploaded === Math.min(50, BURST))}`);
  row('wall time', `${(wall / 1000).toFixed(1)} s`, 'info');
  row('files per state', Object.entries(states).map(([k, v]) => `${k} ${v}`).join(', '), 'every file uploaded or deferred');
  row('RequestLimitExceeded answers seen', String(limited), 'target 0 (retried if any, never shown)');
  await burstStack.stop();
  fs.rmSync(tmp, { recursive: true, force: true });

  process.stdout.write('\n| figure | value | target |\n| --- | --- | --- |\n');
  for (const [a, b, c] of rows) process.stdout.write(`| ${a} | ${b} | ${c} |\n`);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
