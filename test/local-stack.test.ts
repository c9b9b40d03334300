/**
 * `npm start` end to end: the local stack as a child process on free ports, real files dropped in
 * its drop folder, outcomes read from its --json output and from the local bucket, then Ctrl-C.
 */
import { execFile, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { cosClient } from '../scripts/local/client';
import { mp3Silence, PNG_BYTES, wavTone } from './audio';
import { findLeaks } from './harness';

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Line {
  type: string;
  [k: string]: unknown;
}

class Stack {
  lines: Line[] = [];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private child: ChildProcess;
  constructor(args: string[]) {
    // Its own process group, so the test can send SIGINT to all of it, as Ctrl-C in a terminal does.
    this.child = spawn('npm', ['start', '--silent', '--', '--json', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          // build output and other non-JSON lines
        }
      }
    });
    this.child.stderr!.on('data', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }
  async waitFor(pred: (l: Line) => boolean, what: string, ms = 30000): Promise<Line> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.lines.find(pred);
      if (found) return found;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.lines.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  interrupt(): void {
    process.kill(-this.child.pid!, 'SIGINT');
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('npm start: dropped mp3 and wav are registered, a bad file fails clearly, Ctrl-C stops cleanly, state survives', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-local-'));
  const [cosPort, cccPort] = [await freePort(), await freePort()];
  const args = ['--cos-port', String(cosPort), '--ccc-port', String(cccPort), '--data', path.join(dir, 'state'), '--drop', path.join(dir, 'drop'), '--auto-review-ms', '500'];
  const stack = new Stack(args);
  const ready = await stack.waitFor((l) => l.type === 'ready', 'the ready line', 60000);
  expect(ready).toMatchObject({ cosPort, cccPort });

  fs.writeFileSync(path.join(dir, 'drop', 'welcome.mp3'), mp3Silence(8));
  fs.mkdirSync(path.join(dir, 'drop', 'menus'));
  fs.writeFileSync(path.join(dir, 'drop', 'menus', 'main menu.wav'), wavTone(300));
  fs.writeFileSync(path.join(dir, 'drop', 'photo.mp3'), PNG_BYTES);

  const final = (key: string) => stack.waitFor((l) => l.type === 'file' && l.key === key && ['uploaded', 'failed', 'deferred'].includes(String(l.state)), `a result for ${key}`);
  const welcome = await final('prompts/welcome.mp3');
  const menu = await final('prompts/menus/main menu.wav');
  const photo = await final('prompts/photo.mp3');
  expect(welcome).toMatchObject({ state: 'uploaded', fileId: expect.any(Number) });
  expect(menu).toMatchObject({ state: 'uploaded', fileId: expect.any(Number) });
  expect(photo).toMatchObject({ state: 'failed', code: 'NotAudio' });
  expect(stack.lines.some((l) => l.type === 'file' && l.key === 'prompts/welcome.mp3' && l.state === 'queued')).toBe(true);
  // Our own write-backs came back as Copy events and were ignored: the loop guard, for real.
  await stack.waitFor((l) => l.type === 'file' && l.code === 'OwnCopy', 'a Copy event being skipped');
  expect(fs.existsSync(path.join(dir, 'drop', 'done', 'welcome.mp3'))).toBe(true);

  const cos = cosClient(cosPort);
  const head = await cos.headObject({ Bucket: 'local-1250000000', Region: 'ap-guangzhou', Key: 'prompts/welcome.mp3' });
  expect(head.headers!['x-cos-meta-ivr-status']).toBe('uploaded');
  expect(head.headers!['x-cos-meta-ivr-file-id']).toBe(String(welcome.fileId));

  const status = JSON.parse((await run('npm', ['run', '--silent', 'status', '--', '--json', '--data', path.join(dir, 'state')], { cwd: ROOT })).stdout);
  expect(status.map((r: { key: string; status: string }) => `${r.key}=${r.status}`).sort()).toEqual(['prompts/menus/main menu.wav=uploaded', 'prompts/photo.mp3=failed', 'prompts/welcome.mp3=uploaded']);

  await new Promise((r) => setTimeout(r, 700)); // the local CCC approves files 500 ms after upload
  const report = JSON.parse((await run('npm', ['run', '--silent', 'report', '--', '--json', '--data', path.join(dir, 'state')], { cwd: ROOT })).stdout);
  expect(report.report).toMatchObject({ quota: { submitted: 2, limit: 50 }, files: { uploaded: 2, failed: 1 }, review: { approved: 2 } });
  expect(fs.existsSync(path.join(dir, 'state', 'reports', 'index.html'))).toBe(true);

  stack.interrupt();
  // npm itself dies of the SIGINT, as in a terminal; the stack behind it shuts down in order.
  const exit = await stack.exited;
  expect(exit.code === 0 || exit.signal === 'SIGINT').toBe(true);
  await stack.waitFor((l) => l.type === 'stopped', 'the stopped line');
  await new Promise((r) => setTimeout(r, 500));
  for (const pid of ready.pids as number[]) expect(alive(pid)).toBe(false);
  expect(fs.existsSync(path.join(dir, 'state', 'stack.json'))).toBe(false);
  expect(fs.readdirSync(path.join(dir, 'state', 'cos', 'local-1250000000')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  // Everything the bundles logged: JSON lines, and not one secret, token, signature or signed URL.
  const logLines = fs.readdirSync(path.join(dir, 'state', 'logs')).flatMap((f) => fs.readFileSync(path.join(dir, 'state', 'logs', f), 'utf8').split('\n').filter(Boolean));
  expect(logLines.length).toBeGreaterThan(5);
  expect(findLeaks(logLines)).toEqual([]);
  expect(stack.lines.map((l) => JSON.stringify(l)).filter((l) => findLeaks([l]).length > 0)).toEqual([]);

  // Restarted, the local bucket still holds everything.
  const again = new Stack(args);
  await again.waitFor((l) => l.type === 'ready', 'the second ready line', 60000);
  const after = JSON.parse((await run('npm', ['run', '--silent', 'status', '--', '--json', '--data', path.join(dir, 'state')], { cwd: ROOT })).stdout);
  expect(after).toHaveLength(3);
  again.interrupt();
  await again.waitFor((l) => l.type === 'stopped', 'the second stopped line');
  fs.rmSync(dir, { recursive: true, force: true });
}, 120000);
