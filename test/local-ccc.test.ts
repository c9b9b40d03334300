/**
 * `npm run local -- ccc <what>` end to end: each fault an operator can ask of the local CCC does
 * once what its help says, and the files show what the README says (a refusal, a lost answer that
 * registered once, a rejected review, a day filled from outside); a bad name gets a hint, exit 2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CCC_FAULTS } from '../scripts/local/ccc-faults';
import type { DropEvent } from '../scripts/local/drop-folder';
import { FakeCcc, type FakeFile } from '../scripts/local/fakes/fake-ccc';
import { describeEvent } from '../scripts/local/output';
import { mp3Silence } from './audio';
import { killAll, Proc, run, stackArgs, tempDirs, waitUntil } from './local-helpers';

afterEach(killAll);

const ccc = (what: string[], data: string) => run(Proc.npm('local', ['ccc', ...what, '--data', data]));

test('each CCC fault does once what it says, and the files show it', async () => {
  const dirs = tempDirs();
  const stack = Proc.stack(stackArgs(dirs, ['--quota', '5']));
  await stack.waitFor((l) => l.type === 'ready', 'ready', 15000);
  const cccFiles = (): FakeFile[] => JSON.parse(fs.readFileSync(path.join(dirs.data, 'ccc.json'), 'utf8')) as FakeFile[];

  // A typo gets the closest name; no name says what there is. Both exit 2 and touch nothing.
  const typo = await ccc(['los'], dirs.data);
  expect(typo).toMatchObject({ code: 2, stdout: '' });
  expect(typo.stderr).toBe(`npm run local -- ccc: unknown CCC fault "los": did you mean lost?; one of ${Object.keys(CCC_FAULTS).join(', ')}\n`);
  expect((await ccc([], dirs.data)).stderr).toMatch(/^npm run local -- ccc: what should the local CCC do\? one of error, lost, refuse, reject, quota/);
  // A word too many: the hint is a command that works as typed (no second --).
  expect((await ccc(['lost', 'extra'], dirs.data)).stderr).toBe('npm run local -- ccc: unexpected argument "extra": npm run local -- ccc takes 1 argument, then options, e.g. npm run local -- ccc lost --data .local\n');
  const help = await ccc(['--help'], dirs.data);
  expect(help.code).toBe(0);
  const lines = help.stdout.split('\n');
  for (const [name, f] of Object.entries(CCC_FAULTS)) {
    const at = lines.findIndex((l) => l.trim().startsWith(`${name} `));
    expect(lines[at].trim()).toMatch(new RegExp(`^${name} +`));
    expect(lines[at]).toContain(f.does);
    expect(lines[at + 1].trim()).toBe(`→ ${f.then}`);
  }

  // refuse: the next file is refused by CCC, whatever it holds, and fails with CCC's reason.
  let seen = stack.lines.length;
  const refuse = await ccc(['refuse'], dirs.data);
  expect(refuse).toMatchObject({ code: 0, stderr: '', stdout: `local CCC: ${CCC_FAULTS.refuse.does}; ${CCC_FAULTS.refuse.then}\n` });
  await stack.waitFor((l) => l.type === 'ccc' && l.fault === 'refuse', 'the stack says so', 5000, seen);
  fs.writeFileSync(path.join(dirs.drop, 'refused.mp3'), mp3Silence(3));
  const failed = await stack.fileEvent('refused.mp3', 'failed', 10000, seen);
  expect(failed).toMatchObject({ code: 'UploadRejected', message: 'file refused by the local CCC (npm run local -- ccc refuse)', movedTo: 'failed/refused.mp3' });

  // lost: CCC registers the file but the answer never comes: retrying, and registered once.
  seen = stack.lines.length;
  expect((await ccc(['lost'], dirs.data)).code).toBe(0);
  fs.writeFileSync(path.join(dirs.drop, 'lost.mp3'), mp3Silence(4));
  const retrying = await stack.fileEvent('lost.mp3', 'retrying', 10000, seen);
  expect(retrying.code).toBe('OutcomeUnknown');
  expect(cccFiles().filter((f) => f.source?.key === 'prompts/lost.mp3')).toHaveLength(1);

  // reject: the next file registered is uploaded, then rejected at review; a pass (npm run report
  // runs the timer's) reads the verdict onto the object, and npm run status lists it.
  seen = stack.lines.length;
  expect((await ccc(['reject'], dirs.data)).code).toBe(0);
  fs.writeFileSync(path.join(dirs.drop, 'rejected.mp3'), mp3Silence(5));
  const uploaded = await stack.fileEvent('rejected.mp3', 'uploaded', 10000, seen);
  await waitUntil(() => cccFiles().find((f) => f.FileId === uploaded.fileId)?.Status === 2, 'the local review rejects it', 5000);
  expect((await run(Proc.npm('report', ['--data', dirs.data]), 30000)).code).toBe(0);
  const status = await run(Proc.npm('status', ['--json', '--data', dirs.data]));
  expect(status.code).toBe(0);
  const { objects } = JSON.parse(status.stdout) as { objects: Array<{ key: string; review?: string }> };
  expect(objects.find((r) => r.key === 'prompts/rejected.mp3')).toMatchObject({ review: 'rejected' });
  // The refused file, dealt with: deleted from failed/, its object goes, and status no longer lists it.
  expect(objects.map((r) => r.key)).toContain('prompts/refused.mp3');
  fs.rmSync(path.join(dirs.drop, 'failed', 'refused.mp3'));
  await stack.fileEvent('failed/refused.mp3', 'cleared', 5000, seen);
  const after = JSON.parse((await run(Proc.npm('status', ['--json', '--data', dirs.data]))).stdout) as { objects: Array<{ key: string }> };
  expect(after.objects.map((r) => r.key)).not.toContain('prompts/refused.mp3');
  // Once: the file after it is approved.
  fs.writeFileSync(path.join(dirs.drop, 'approved.mp3'), mp3Silence(6));
  const next = await stack.fileEvent('approved.mp3', 'uploaded', 10000, seen);
  await waitUntil(() => cccFiles().find((f) => f.FileId === next.fileId)?.Status === 1, 'the local review approves the next one', 5000);

  // quota: files from outside fill the local CCC's day; the next file is deferred. Asked again, it says the day is full.
  seen = stack.lines.length;
  expect((await ccc(['quota'], dirs.data)).code).toBe(0);
  expect(cccFiles().filter((f) => !f.source)).toHaveLength(2); // 5 less the three it registered (lost, rejected, approved)
  expect(await ccc(['quota'], dirs.data)).toMatchObject({ code: 1, stderr: "npm run local -- ccc: today's quota is full already\n" });
  fs.writeFileSync(path.join(dirs.drop, 'late.mp3'), mp3Silence(7));
  const deferred = await stack.fileEvent('late.mp3', 'deferred', 10000, seen);
  expect(deferred.code).toBe('QuotaExhausted');
  const line: DropEvent = { kind: 'status', file: String(deferred.file), key: String(deferred.key), status: 'deferred', message: String(deferred.message), day: String(deferred.day) };
  expect(describeEvent(line).detail).toMatch(/^CCC says the day is full \(FailedOperation\.UploadFileOverflow; files registered outside this product count too\); sent automatically on \d{4}-\d{2}-\d{2} at the earliest$/);
  // Faults queue: one asked for while another is not used yet says so.
  expect((await ccc(['error'], dirs.data)).stdout).not.toContain('not used yet');
  expect((await ccc(['lost'], dirs.data)).stdout).toBe(`local CCC: ${CCC_FAULTS.lost.does}; ${CCC_FAULTS.lost.then} (1 asked for earlier is not used yet)\n`);
  // Stopped with both unused: the stopping line says they are forgotten.
  await stack.stop();
  expect(stack.lines.find((l) => l.type === 'stopping')).toMatchObject({ unusedFaults: 2 });
}, 120000);

test("the stack's same-name line asks the local CCC as the report asks: this app's files, either Unicode form of the name", () => {
  const ccc = new FakeCcc({ credentials: [], cos: { host: '127.0.0.1', port: 9 } });
  ccc.registerForeign(1400000001, 1, 'x');
  ccc.registerForeign(1400000002, 1, 'x');
  const [mine, other] = ccc.files;
  mine.CustomFileName = 'Men\u00e9';
  other.CustomFileName = 'Men\u00e9';
  ccc.registerForeign(1400000001, 1, 'x');
  ccc.files[2].CustomFileName = 'Mene\u0301';
  expect(ccc.listedAs(1400000001, 'Mene\u0301')).toEqual([mine.FileId, ccc.files[2].FileId]);
  expect(ccc.listedAs(1400000001, 'menu')).toEqual([]);
});
