/**
 * `npm start`: the whole product on one machine. A local COS and CCC (signatures checked, limits
 * enforced), the real function bundles in their own processes, a drop folder that uploads like a
 * user would, COS events delivered as SCF delivers them, and the timer.
 *
 * Start-up refuses with one line before anything runs: a bad option (exit 2), a folder another
 * stack holds, a busy port (exit 1); the folders it created for the start and left empty go again.
 *
 * The stack's clock is real time plus the offset `npm run local -- next-day` moves forward (kept in
 * `<data>/clock.json`); the stack, its fakes and its function instances all run on it.
 *
 * `npm start` runs this file with `node --require tsx/cjs`, not tsx's CLI: the CLI runs it in a
 * child process, relays Ctrl-C to it, and kills it with SIGKILL when it has not answered within
 * 30 ms, which a busy machine cut mid-shutdown (no `stopped` line, the lock and stack.json left).
 */
// First: the shifted `Date` must be in place before anything keeps a reference to `Date.now`.
import { clockOffset, realNow, setClockOffset, useStackClock, writeClockOffset } from './clock';
import type COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as path from 'path';
import { cosEventRecord } from './fakes/events';
import { FakeCcc } from './fakes/fake-ccc';
import { FakeCos } from './fakes/fake-cos';
import { cronMatches, nextCronAt, parseCron } from '../lib/cron';
import { DEFAULT_LEDGER_PREFIX, intVar } from '../../shared/core/config';
import { parseLogEntry, quotaOn } from '../../shared/core/sendlog';
import { buildBundles, bundlesStale } from './bundles';
import { Burst, burstLine, quotaPart } from './burst';
import { failureLine, runCommand } from './cli';
import { cosClient, pairWithDropFolder, stackFile, writeStackFile } from './client';
import { DropFolder, type DropEvent } from './drop-folder';
import { LOCK_NAME, RESERVED_DIRS } from './drop-rules';
import { MadeDirs } from './made-dirs';
import { failedCopiesRecord } from './failed-record';
import { isFreshStateFolder, recordFirstStart } from './first-start';
import { FunctionInstance } from './instance';
import { acquireLock, type HeldLock } from './lock';
import { parseStartOptions, START_OPTIONS, usage, UsageError } from './options';
import { Output, stoppedLine, stoppingLine } from './output';
import { npmRunFor } from './shell';
import { checkPorts, portMessage } from './ports';
import { CCC_FAULTS, isCccFault } from './ccc-faults';
import { ControlRefusal, startControl } from './control';
import { moveToNextDay } from './day-move';
import { describeSettled, passLine, runReport, type ReportRun, type SettledFileShape } from './report-run';
import { BUCKET, CREDENTIAL, functionEnv, REGION, SDK_APP_ID, type LocalSettings } from './settings';
import { formatAhead, zoneName } from './time';

const SCF_ATTEMPTS = 3;

/** What an ivr-upload invocation returns per record; used only for refusals that write no metadata. */
interface RecordResult {
  key?: string;
  status: string;
  code?: string;
  message?: string;
}


/** Where paths are shown from: the user's own folder when npm started us from it. */
const shown = (p: string) => {
  const rel = path.relative(process.env.INIT_CWD ?? process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
};

async function main(): Promise<void> {
  const parsed = parseStartOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), process.env);
  if (parsed === 'help') {
    process.stdout.write(usage('npm start', START_OPTIONS));
    return;
  }
  const s: LocalSettings = parsed;
  const out = new Output(s.json, s.quotaOffsetMinutes);

  for (const [dir, option] of [[s.dropDir, '--drop'], [s.dataDir, '--data']]) {
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`${option} ${dir} is a file, not a folder`);
  }
  // One stack per drop folder and per state folder: two would take the same files or corrupt
  // the same local bucket.
  const locks: HeldLock[] = [];
  const releaseLocks = () => locks.splice(0).forEach((l) => l.release());
  process.on('exit', releaseLocks);
  // A start that fails (a busy port, a folder another stack holds) takes away the folders it
  // created and left empty, once its locks are gone (exit listeners run in the order added):
  // a retry with another --drop must not leave the mistyped one behind.
  const made = new MadeDirs();
  let started = false;
  process.on('exit', () => {
    if (!started) made.removeEmpty();
  });
  // Before anything is written into it: a state folder nothing ran with yet records its first
  // start once ready, so a report of an earlier day can say why it is empty (./first-start).
  const freshState = isFreshStateFolder(s.dataDir);
  made.make(s.dropDir);
  made.make(s.dataDir);
  locks.push(acquireLock(path.join(s.dropDir, LOCK_NAME), { what: `the drop folder ${s.dropDir}`, option: '--drop' }));
  locks.push(acquireLock(path.join(s.dataDir, 'stack.lock'), { what: `the state folder ${s.dataDir}`, option: '--data' }));

  // Before the fakes and clients exist: they sign, check signatures and count days on this clock.
  useStackClock(s.dataDir);

  if (bundlesStale()) await buildBundles();
  await checkPorts([
    { port: s.cosPort, option: '--cos-port' },
    { port: s.cccPort, option: '--ccc-port' },
  ]);
  // Between the check and the listen another program could take a port; it still ends in one line.
  process.on('uncaughtException', (e: NodeJS.ErrnoException) => {
    const port = (e as { port?: number }).port;
    process.stderr.write(`${e.code === 'EADDRINUSE' && port !== undefined ? `npm start: ${portMessage(port, port === s.cccPort ? '--ccc-port' : '--cos-port', e.code)}` : failureLine('npm start', e)}\n`);
    process.exit(1);
  });

  const cos = await new FakeCos({ credentials: [CREDENTIAL], port: s.cosPort, dataDir: path.join(s.dataDir, 'cos') }).start();
  const ccc = await new FakeCcc({
    credentials: [CREDENTIAL],
    cos: { host: '127.0.0.1', port: cos.port },
    port: s.cccPort,
    dataFile: path.join(s.dataDir, 'ccc.json'),
    dailyQuota: s.quota,
    quotaUtcOffsetMinutes: s.quotaOffsetMinutes,
    autoReviewMs: s.autoReviewMs,
  }).start();
  cos.createBucket(BUCKET);
  const ports = { ...s, cosPort: cos.port, cccPort: ccc.port };
  const logs = path.join(s.dataDir, 'logs');
  const upload = new FunctionInstance('ivr-upload', functionEnv(ports, 'ivr-upload'), path.join(logs, 'ivr-upload.log'));
  const report = new FunctionInstance('quota-report', functionEnv(ports, 'quota-report'), path.join(logs, 'quota-report.log'));
  const user: COS = cosClient(cos.port);

  let stopping = false;
  const burst = new Burst();
  let inFlight = 0;
  /** Keys whose withdrawal from waiting/ the terminal has said (a later pass's line leaves them out). */
  const withdrawnTold = new Set<string>();
  /** The recovery pass in progress: one at a time, as the timer and next-day both start it. */
  let pass: Promise<ReportRun> | undefined;

  // Waiting objects whose file is gone from waiting/ are withdrawn at start, and failed objects
  // whose file was removed from failed/ while the stack was stopped are deleted, but only when
  // this state folder was only ever used with this drop folder and prefix: started with another
  // one, its waiting/ and failed/ say nothing about them (they would all be deleted).
  const pairing = pairWithDropFolder(s.dataDir, s.dropDir, s.prefix);
  const cron = parseCron(s.reportCron);
  const drop = new DropFolder({
    dropDir: s.dropDir,
    ownsWaiting: pairing.same,
    failedRecord: failedCopiesRecord(s.dataDir, s.dropDir, s.prefix),
    settleMs: s.settleMs,
    prefix: s.prefix,
    bucket: BUCKET,
    offsetMinutes: s.quotaOffsetMinutes,
    makeDir: (dir) => made.make(dir),
    now: () => Date.now(),
    elapsed: realNow,
    // The functions' own lease (the stack passes IVR_JOB_LEASE_SECONDS on as it is, or not at all).
    leaseMs: intVar(functionEnv(ports, 'ivr-upload'), 'IVR_JOB_LEASE_SECONDS', 120, 2, 3600) * 1000,
    nextPassAt: (ms) => nextCronAt(cron, ms, s.quotaOffsetMinutes),
    put: async (key, body, contentType) => {
      await user.putObject({ Bucket: BUCKET, Region: REGION, Key: key, Body: body, ContentType: contentType });
    },
    object: (key) => cos.object(BUCKET, key),
    keys: () => cos.keys(BUCKET, s.prefix),
    remove: async (key) => {
      await user.deleteObject({ Bucket: BUCKET, Region: REGION, Key: key });
    },
    listedInCcc: (name) => ccc.listedAs(SDK_APP_ID, name),
    emit: (e: DropEvent) => {
      burst.count(e);
      if (e.kind === 'withdrawn') withdrawnTold.add(e.key);
      if (e.kind === 'sent') withdrawnTold.delete(e.key);
      out.file(e);
    },
  });

  /** Delivers one COS event to ivr-upload with SCF's async semantics: on error, two more tries. */
  const deliver = async (eventName: string, key: string, size: number, attempt = 1): Promise<void> => {
    inFlight++;
    const res = await upload.invoke({ Records: [cosEventRecord({ bucket: BUCKET, region: REGION, key, size, eventName })] });
    inFlight--;
    if (stopping) return;
    if (res.ok) {
      // Outcomes are read from the objects' metadata; a refusal is the one result that writes none.
      for (const r of (res.result as { results?: RecordResult[] }).results ?? []) {
        if (r.status === 'rejected' && r.key) drop.refused(r.key, r.code, r.message);
      }
    } else if (attempt < SCF_ATTEMPTS) {
      setTimeout(() => void deliver(eventName, key, size, attempt + 1), s.retryDelayMs).unref();
    } else if (eventName !== 'cos:ObjectCreated:Copy') {
      const file = key.startsWith(s.prefix) ? key.slice(s.prefix.length) : key;
      out.file({ kind: 'error', file, message: `ivr-upload failed ${SCF_ATTEMPTS} times (${res.error.code ?? 'error'}: ${res.error.message}); see ${shown(path.join(logs, 'ivr-upload.log'))}` });
    }
  };

  // The deployed trigger filters on the prefix and never subscribes to Copy; locally the Copy
  // events of the functions' own write-backs are delivered too (the function ignores them), and
  // each one is the moment an object's metadata may say something new.
  // The listener runs inside the local COS's request handler, after it has answered: whatever it
  // throws must stay here, or the handler tries to answer again and the whole stack stops.
  cos.onObjectCreated(({ eventName, bucket, object }) => {
    if (bucket !== BUCKET || !object.key.startsWith(s.prefix) || stopping) return;
    try {
      if (eventName === 'cos:ObjectCreated:Copy') drop.objectChanged(object.key);
    } catch (e) {
      out.file({ kind: 'error', file: object.key.slice(s.prefix.length), message: e instanceof Error ? e.message : String(e) });
    }
    void deliver(eventName, object.key, object.body.length);
  });

  /** Files submitted on `day` as the functions count them against the quota: the newest send-log entry's count (the local bucket lists at once). */
  const submittedOn = (day: string): number | undefined => {
    const ns = cos.keys(BUCKET, `${DEFAULT_LEDGER_PREFIX}send/`).map((k) => Number(k.slice(k.lastIndexOf('/') + 1))).filter(Number.isSafeInteger);
    if (ns.length === 0) return undefined;
    const newest = parseLogEntry(cos.object(BUCKET, `${DEFAULT_LEDGER_PREFIX}send/${Math.max(...ns)}`)?.body.toString('utf8'));
    return newest ? quotaOn(newest, day).quota.used : undefined;
  };

  // At most one short line when a burst of several files has settled (see ./burst).
  const burstTimer = setInterval(() => {
    // Not during a pass either: its line comes first, and the summary says which files it counts too.
    if (stopping || drop.busy || inFlight > 0 || pass) return;
    sayBurst('');
  }, 500);
  /** The burst's summary, if it has one; `note` goes after its counts (said when the stack stops mid-burst). */
  const sayBurst = (note: string) => {
    const b = burst.settle();
    if (!b) return;
    const day = ccc.quotaDay();
    const today = ccc.filesOn(day, SDK_APP_ID).length;
    const submitted = submittedOn(day);
    out.note('burst', { ...b, quotaUsedToday: today, ...(submitted !== undefined ? { quotaSubmittedToday: submitted } : {}), quota: s.quota, ...(note ? { stopped: true } : {}) }, `${burstLine(b)}${note}; ${quotaPart(today, submitted, s.quota)}`);
  };

  const fetchObject = async (key: string) => cos.object(BUCKET, key)?.body;
  const recoveryPass = (): Promise<ReportRun> => {
    const gone = (key: string) => cos.object(BUCKET, key) === undefined;
    const told = (f: SettledFileShape) => withdrawnTold.has(f.key) && gone(f.key) && (f.code === 'ObjectChanged' || f.code === 'ObjectNotFound');
    pass ??= runReport(report, s.dataDir, fetchObject, '', (f) => describeSettled(f, s.prefix, (key) => !gone(key)), told).finally(() => (pass = undefined));
    return pass;
  };
  const passNote = (r: ReportRun) => {
    burst.passPrinted((r.result?.files ?? []).map((f) => f.key));
    out.note('recovery', { ok: r.ok, pass: r.pass, day: r.day, page: r.page }, passLine(r));
  };

  // The timer, as SCF's: the recovery pass on the cron, read on the stack's clock in the quota
  // day's zone. A pass that did nothing an operator must know of prints nothing (every 5 minutes).
  let lastCronSecond = 0;
  const cronTimer = setInterval(() => {
    const second = Math.floor(Date.now() / 1000);
    if (second === lastCronSecond || stopping) return;
    lastCronSecond = second;
    if (!cronMatches(cron, second * 1000, s.quotaOffsetMinutes) || pass) return;
    void recoveryPass().then((r) => r.noteworthy && passNote(r));
  }, 200);

  // next-day, one at a time: a second request moves the day again once the first is done.
  let moving: Promise<unknown> = Promise.resolve();
  const nextDay = () => {
    const run = moving.then(() =>
      moveToNextDay({
        clock: { now: () => Date.now(), realNow, offset: clockOffset, persist: (ms) => writeClockOffset(s.dataDir, ms), apply: setClockOffset },
        offsetMinutes: s.quotaOffsetMinutes,
        busy: () => upload.busy + report.busy + (pass ? 1 : 0),
        instances: [upload, report],
        moved: (from, to, offsetMs) => out.note('next-day', { from, to, clockOffsetMs: offsetMs }, `quota day moved: ${from} → ${to} by next-day (the local clock is now ${formatAhead(offsetMs)} ahead of real time)`),
        refused: (message) => out.note('next-day', { refused: message }, `quota day not moved (next-day): ${message}`),
        recoveryPass: async () => {
          const r = await recoveryPass();
          passNote(r);
          return r;
        },
      }),
    );
    moving = run.catch(() => undefined);
    return run;
  };
  // ccc: the local CCC does one thing wrong next (ccc-faults.ts), and the terminal says so.
  const cccFault = async (what?: string) => {
    if (what === undefined || !isCccFault(what)) throw new ControlRefusal(`unknown CCC fault "${what ?? ''}"; one of ${Object.keys(CCC_FAULTS).join(', ')}`);
    const f = CCC_FAULTS[what];
    // Faults queue, and ones asked for earlier and not used yet may act on the same call first:
    // say how many wait, or the next call's outcome is a puzzle.
    const earlier = ccc.pendingUploadFaults();
    const note = f.apply(ccc, SDK_APP_ID);
    if (note) throw new ControlRefusal(note);
    const queue = earlier > 0 ? `; ${earlier} asked for earlier ${earlier === 1 ? 'is' : 'are'} not used yet` : '';
    out.note('ccc', { fault: what, earlier }, `local CCC (npm run local -- ccc ${what}): ${f.does}${queue}`);
    return { fault: what, does: f.does, then: f.then, earlier };
  };
  const control = await startControl({ 'next-day': nextDay, ccc: cccFault }, (command) => {
    // Not when this stack is stopping: its own stop closed the connection (a trial read a Ctrl-C
    // blamed on a next-day nobody stopped).
    if (command === 'next-day' && !stopping) out.note('next-day', { abandoned: true }, 'next-day stopped waiting (Ctrl-C in its terminal); what it asked goes on here: the day move, unless made already, and its recovery pass');
  });
  writeStackFile(s, { pid: process.pid, cosPort: cos.port, cccPort: ccc.port, prefix: s.prefix, quota: s.quota, quotaOffset: s.quotaOffset, dropDir: s.dropDir, control: { port: control.port, token: control.token } });

  const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
  // status, report and next-day find the stack by its state folder: one not the default must be
  // typed with them, or they answer that no stack is running.
  const npmRun = (script: string) => npmRunFor(s.dataDir, script, shown(s.dataDir));
  const took = locks.map((l) => l.tookOverFrom).find(Boolean);
  out.banner(
    [
      'ivr-audio-sync: local stack (no cloud account needed)',
      `  drop    ${s.dropDir}`,
      `          a file is taken once unchanged for ${seconds(s.settleMs)}, sent in drop order to ${s.prefix || 'the bucket root'},`,
      `          kept in ${RESERVED_DIRS.waiting}/ until registered, then moved to ${RESERVED_DIRS.done}/ or ${RESERVED_DIRS.failed}/ (with <name>.error.txt)`,
      `  COS     http://127.0.0.1:${cos.port}  bucket ${BUCKET} (${REGION}), state in ${shown(s.dataDir)}`,
      `  CCC     http://127.0.0.1:${ccc.port}  SdkAppId ${SDK_APP_ID}, ${s.quota} file${s.quota === 1 ? '' : 's'} per quota day (${zoneName(s.quotaOffsetMinutes)}), 1 call/s`,
      `          the local CCC approves each file ${seconds(s.autoReviewMs)} after upload (--auto-review-ms); the real review time varies`,
      `  timer   recovery pass on cron "${s.reportCron}" (${zoneName(s.quotaOffsetMinutes)}): finishes interrupted work, sends deferred files`,
      `          once their day has room, refreshes reviews, and writes the daily report once per quota day`,
      `  report  any time: ${npmRun('report')} (it prints where the page is)`,
      `  day     ${npmRun('local -- next-day')}: the quota day ends now, then the timer runs${clockOffset() > 0 ? ` (the local clock is ${formatAhead(clockOffset())} ahead of real time)` : ''}`,
      `  status  ${npmRun('status')} · function logs in ${shown(logs)}`,
      ...(took ? [`  note    took over a lock left by a stack that is no longer running (PID ${took.pid})`] : []),
      ...(pairing.previous && !pairing.same
        ? [
            pairing.previous.dropDir !== path.resolve(s.dropDir) || pairing.previous.prefix !== s.prefix
              ? `  note    this state folder was last used with the drop folder ${pairing.previous.dropDir} (prefix ${pairing.previous.prefix || 'none'}): its waiting files are not withdrawn, nor failed files removed while it was stopped cleared; start with --drop ${pairing.previous.dropDir} to go on with them`
              : '  note    this state folder has been used with more than one drop folder: a file missing from waiting/ at start is not withdrawn, nor one missing from failed/ cleared',
          ]
        : []),
      'Ready. Copy .mp3 or .wav files into the drop folder. Ctrl-C stops.',
    ],
    { cosPort: cos.port, cccPort: ccc.port, bucket: BUCKET, dropDir: s.dropDir, dataDir: s.dataDir, prefix: s.prefix, quotaOffset: s.quotaOffset, clockOffsetMs: clockOffset(), tookOverFrom: took?.pid, pids: [process.pid, upload.pid, report.pid] },
  );

  // After the banner: the lines of the files left waiting by the last run (one each) would push
  // it, and Ready, off the screen.
  await drop.start();
  started = true;
  if (freshState) recordFirstStart(s.dataDir, Date.now());
  // Files left waiting by the last run may be queued with no sender at work: a recovery pass now
  // sends them, rather than the next one on the timer (as long as 5 minutes away).
  if (drop.waiting > 0) void recoveryPass().then((r) => r.noteworthy && passNote(r));

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    drop.stop();
    clearInterval(burstTimer);
    clearInterval(cronTimer);
    // The files handled so far get their summary too (a trial's 10 files registered before a
    // Ctrl-C never got one); the rest are picked up at the next start.
    sayBurst(' before the stop');
    await control.stop();
    // A Ctrl-C in the terminal reaches the function processes too (one process group): they are
    // given a moment to be seen gone, so the line never says invocations will finish that cannot.
    const instances = [upload, report].filter((i) => i.busy > 0);
    const running = instances.reduce((n, i) => n + i.busy, 0);
    const cutOff = running > 0 && (await Promise.all(instances.map((i) => i.exitedWithin(500)))).every(Boolean);
    const unusedFaults = ccc.pendingUploadFaults();
    out.note('stopping', { signal, inFlight: running, cutOff, unusedFaults }, stoppingLine(signal, { uploads: upload.busy, passes: report.busy }, cutOff, unusedFaults));
    const deadline = Date.now() + 15000;
    while ((upload.busy > 0 || report.busy > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await Promise.all([upload.stop(), report.stop()]);
    await Promise.all([cos.stop(), ccc.stop()]);
    fs.rmSync(stackFile(s.dataDir), { force: true });
    releaseLocks();
    out.note('stopped', {}, stoppedLine(drop.waiting, drop.held));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

runCommand('npm start', main);
