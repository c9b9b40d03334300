/**
 * `npm start`: the whole product on one machine. A local COS and CCC (the same fakes the tests use:
 * signatures checked, limits enforced), the real function bundles in their own processes, a drop
 * folder that uploads like a user would, COS events delivered as SCF delivers them, and the timer.
 */
import type COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as path from 'path';
import { cosEventRecord } from './fakes/events';
import { FakeCcc } from './fakes/fake-ccc';
import { FakeCos } from './fakes/fake-cos';
import { cronMatches, parseCron } from '../lib/cron';
import { cosClient, stackFile, type StackFile } from './client';
import { FunctionInstance } from './instance';
import { runReport } from './report-run';
import { BUCKET, CREDENTIAL, functionEnv, readSettings, REGION, SDK_APP_ID, type LocalSettings } from './settings';

interface RecordResult {
  key?: string;
  status: string;
  code?: string;
  message?: string;
  fileId?: number;
}

const SCF_ATTEMPTS = 3;
const CST_MINUTES = 480;

class Output {
  constructor(private readonly json: boolean) {}
  private stamp = () => new Date().toTimeString().slice(0, 8);
  emit(type: string, fields: Record<string, unknown>, human: string): void {
    process.stdout.write(this.json ? JSON.stringify({ type, time: new Date().toISOString(), ...fields }) + '\n' : `${this.stamp()}  ${human}\n`);
  }
  banner(lines: string[], fields: Record<string, unknown>): void {
    if (this.json) this.emit('ready', fields, '');
    else process.stdout.write(lines.join('\n') + '\n');
  }
}

function describe(r: RecordResult): string {
  switch (r.status) {
    case 'uploaded':
      return `uploaded   FileId ${r.fileId}${r.code === 'Duplicate' ? ' (already registered)' : ''}`;
    case 'deferred':
      return `deferred   ${r.message ?? 'daily quota used up'}`;
    case 'failed':
      return `failed     ${r.code}: ${r.message}`;
    case 'retrying':
      return `retrying   ${r.code}: ${r.message}`;
    default:
      return `${r.status.padEnd(10)} ${r.code ?? ''} ${r.message ?? ''}`.trim();
  }
}

async function main(): Promise<void> {
  const s: LocalSettings = readSettings(process.argv.slice(2));
  const out = new Output(s.json);
  const cron = parseCron(s.reportCron);
  fs.mkdirSync(s.dataDir, { recursive: true });
  fs.mkdirSync(s.dropDir, { recursive: true });

  const cos = await new FakeCos({ credentials: [CREDENTIAL], port: s.cosPort, dataDir: path.join(s.dataDir, 'cos') }).start();
  const ccc = await new FakeCcc({ credentials: [CREDENTIAL], cos: { host: '127.0.0.1', port: cos.port }, port: s.cccPort, dataFile: path.join(s.dataDir, 'ccc.json'), dailyQuota: s.quota, autoReviewMs: s.autoReviewMs }).start();
  cos.createBucket(BUCKET);
  const ports = { ...s, cosPort: cos.port, cccPort: ccc.port };
  const logs = path.join(s.dataDir, 'logs');
  const upload = new FunctionInstance('ivr-upload', functionEnv(ports, 'ivr-upload'), path.join(logs, 'ivr-upload.log'));
  const report = new FunctionInstance('quota-report', functionEnv(ports, 'quota-report'), path.join(logs, 'quota-report.log'));
  const user: COS = cosClient(cos.port);
  const info: StackFile = { pid: process.pid, cosPort: cos.port, cccPort: ccc.port, prefix: s.prefix, quota: s.quota };
  fs.writeFileSync(stackFile(s), JSON.stringify(info));

  const tally = { uploaded: 0, failed: 0, deferred: 0, retrying: 0, loopGuarded: 0 };
  let inFlight = 0;
  let stopping = false;

  const summary = () => {
    const today = ccc.filesOn(ccc.quotaDay(), SDK_APP_ID).length;
    out.emit('summary', { ...tally, quotaUsedToday: today, quota: s.quota }, `summary: ${tally.uploaded} uploaded, ${tally.failed} failed, ${tally.deferred} deferred, ${tally.retrying} retrying · quota today ${today}/${s.quota} · ${tally.loopGuarded} write-back copy event(s) ignored`);
  };

  /** Delivers one COS event to ivr-upload with SCF's async semantics: on error, two more tries. */
  const deliver = async (eventName: string, key: string, size: number, attempt = 1): Promise<void> => {
    inFlight++;
    const res = await upload.invoke({ Records: [cosEventRecord({ bucket: BUCKET, region: REGION, key, size, eventName })] });
    inFlight--;
    if (res.ok) {
      for (const r of (res.result as { results: RecordResult[] }).results) {
        if (r.code === 'OwnCopy') {
          tally.loopGuarded++;
          if (s.json) out.emit('file', { key, state: 'skipped', code: r.code, eventName }, '');
          continue;
        }
        if (r.status in tally) tally[r.status as keyof typeof tally]++;
        out.emit('file', { key, state: r.status, fileId: r.fileId, code: r.code, message: r.message, eventName }, `${key.padEnd(28)} ${describe(r)}`);
      }
    } else if (attempt < SCF_ATTEMPTS && !stopping) {
      out.emit('file', { key, state: 'retrying', code: res.error.code, message: res.error.message, attempt }, `${key.padEnd(28)} retrying   ${res.error.code ?? 'error'}: SCF delivers the event again in ${Math.round(s.retryDelayMs / 1000)}s (attempt ${attempt + 1} of ${SCF_ATTEMPTS})`);
      setTimeout(() => void deliver(eventName, key, size, attempt + 1), s.retryDelayMs).unref();
    } else {
      out.emit('file', { key, state: 'error', code: res.error.code, message: res.error.message }, `${key.padEnd(28)} error      ${res.error.code ?? ''} ${res.error.message}`);
    }
    if (inFlight === 0 && !stopping) summary();
  };

  // The deployed trigger filters on the prefix and never subscribes to Copy; locally the Copy
  // events of our own write-backs are delivered too, so the loop guard is exercised for real.
  cos.onObjectCreated(({ eventName, bucket, object }) => {
    if (bucket !== BUCKET || !object.key.startsWith(s.prefix) || stopping) return;
    if (eventName !== 'cos:ObjectCreated:Copy') out.emit('file', { key: object.key, state: 'queued', size: object.body.length }, `${object.key.padEnd(28)} queued     ${object.body.length} bytes`);
    void deliver(eventName, object.key, object.body.length);
  });

  // The drop folder: a file is uploaded once its size has stopped changing, then moved to done/.
  const seen = new Map<string, string>();
  const doneDir = path.join(s.dropDir, 'done');
  const scan = async () => {
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.name.startsWith('.') || p === doneDir) return [];
        return e.isDirectory() ? walk(p) : e.isFile() ? [p] : [];
      });
    for (const file of walk(s.dropDir)) {
      const st = fs.statSync(file);
      const sig = `${st.size}:${st.mtimeMs}`;
      if (seen.get(file) !== sig) {
        seen.set(file, sig);
        continue;
      }
      seen.delete(file);
      const rel = path.relative(s.dropDir, file).split(path.sep).join('/');
      const key = s.prefix + rel;
      const ext = path.extname(file).toLowerCase();
      try {
        await user.putObject({ Bucket: BUCKET, Region: REGION, Key: key, Body: fs.readFileSync(file), ContentType: ext === '.mp3' ? 'audio/mpeg' : ext === '.wav' ? 'audio/wav' : 'application/octet-stream' });
        const target = path.join(doneDir, rel);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.renameSync(file, target);
      } catch (e) {
        out.emit('drop-error', { file, message: String(e) }, `${rel}  could not be uploaded: ${e instanceof Error ? e.message : JSON.stringify(e)}`);
      }
    }
  };
  let scanning = false;
  const scanTimer = setInterval(() => {
    if (scanning || stopping) return;
    scanning = true;
    scan().finally(() => (scanning = false));
  }, 400);

  const fetchObject = async (key: string) => cos.object(BUCKET, key)?.body;
  let lastCronSecond = 0;
  const cronTimer = setInterval(() => {
    const second = Math.floor(Date.now() / 1000);
    if (second === lastCronSecond || stopping) return;
    lastCronSecond = second;
    if (!cronMatches(cron, second * 1000, CST_MINUTES)) return;
    void runReport(report, s.dataDir, fetchObject).then((r) => out.emit('report', { ok: r.ok, day: r.day, page: r.page }, `${r.summary}${r.page ? `\n          open file://${r.page}` : ''}`));
  }, 200);

  out.banner(
    [
      'ivr-audio-sync: local stack (no cloud account needed)',
      `  COS     http://127.0.0.1:${cos.port}   bucket ${BUCKET} (${REGION}), state in ${path.relative(process.cwd(), s.dataDir) || '.'}/`,
      `  CCC     http://127.0.0.1:${ccc.port}   SdkAppId ${SDK_APP_ID}, ${s.quota} files/day, 1 call/s, files approved ${Math.round(s.autoReviewMs / 1000)}s after upload`,
      `  drop    ${s.dropDir}/  → uploaded to ${s.prefix}, then moved to drop/done/`,
      `  report  cron "${s.reportCron}" (UTC+08:00), or any time: npm run report`,
      `  status  npm run status · function logs in ${logs}/`,
      'Ready. Copy an .mp3 or .wav into the drop folder to register it. Ctrl-C stops.',
    ],
    { cosPort: cos.port, cccPort: ccc.port, bucket: BUCKET, dropDir: s.dropDir, dataDir: s.dataDir, prefix: s.prefix, pids: [process.pid, upload.pid, report.pid] },
  );

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(scanTimer);
    clearInterval(cronTimer);
    out.emit('stopping', { signal, inFlight }, `stopping (${signal}): letting ${inFlight} invocation(s) finish…`);
    const deadline = Date.now() + 15000;
    while ((upload.busy > 0 || report.busy > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await Promise.all([upload.stop(), report.stop()]);
    await Promise.all([cos.stop(), ccc.stop()]);
    fs.rmSync(stackFile(s), { force: true });
    out.emit('stopped', {}, 'stopped; the local bucket is kept for next time');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`npm start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
