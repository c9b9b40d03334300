/**
 * The warm path's floor on this machine: what the same HTTP requests cost with Node's http alone.
 * Warm CPU per file is mostly the requests a file makes (the last notes' profiles: Node's HTTP
 * stack and the socket writes about 60%); this prints how much of it any code making those
 * requests pays here, so the figure can be read against the machine rather than guessed at.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { CHILD } from './cold';
import { functionNode } from './node';

/** One request of the plan: its method, request body bytes, and the answer's body bytes. */
export interface FloorRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  bytes: number;
  answer: number;
}

/** What `child.cjs bare` runs: `requests` per file, `files` files `gapMs` apart. */
export interface FloorPlan {
  requests: FloorRequest[];
  files: number;
  gapMs: number;
  authBytes: number;
  tokenBytes: number;
}

/**
 * A warm file's requests as a plan, from the counts per operation the fakes logged over a run of
 * `files` files (rounded per file): the audio object's GET answers `audioBytes`, the other COS
 * answers and ledger bodies are a few hundred bytes, as the ledger's JSON records are.
 */
export function planFromCounts(counts: Record<string, number>, files: number, cccCalls: number, audioBytes: number): FloorRequest[] {
  const per = (op: string) => Math.round((counts[op] ?? 0) / files);
  const plan: FloorRequest[] = [];
  for (let i = 0; i < per('GET'); i++) plan.push({ method: 'GET', bytes: 0, answer: i === 0 ? audioBytes : 300 });
  for (let i = 0; i < per('HEAD'); i++) plan.push({ method: 'HEAD', bytes: 0, answer: 0 });
  for (let i = 0; i < per('PUT'); i++) plan.push({ method: 'PUT', bytes: 300, answer: 0 });
  // A copy is a PUT without a body, answered with a short XML document.
  for (let i = 0; i < per('COPY'); i++) plan.push({ method: 'PUT', bytes: 0, answer: 200 });
  for (let i = 0; i < per('DELETE'); i++) plan.push({ method: 'DELETE', bytes: 0, answer: 0 });
  for (let i = 0; i < per('LIST'); i++) plan.push({ method: 'GET', bytes: 0, answer: 600 });
  // The CCC call: a JSON request and its JSON answer.
  for (let i = 0; i < Math.round(cccCalls / files); i++) plan.push({ method: 'POST', bytes: 500, answer: 300 });
  return plan;
}

/** Runs the plan in a fresh function-Node process against a plain local server; CPU per file. */
export async function bareFloor(plan: FloorPlan): Promise<{ cpuMs: number[]; sysMs: number[] }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = Number(req.url?.split('/').pop() ?? 0);
      res.setHeader('x-cos-request-id', 'NjQ5ZDE4MzZfMjQ4OGY3MGFfNWYyZl8xMjM0NTY3');
      res.setHeader('etag', '"d41d8cd98f00b204e9800998ecf8427e"');
      res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(answer, 2));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-floor-'));
  try {
    const file = path.join(tmp, 'plan.json');
    fs.writeFileSync(file, JSON.stringify(plan));
    const port = (server.address() as AddressInfo).port;
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(functionNode(), [CHILD, 'bare', String(port), file], { env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => (text += c));
      p.stderr.on('data', (c: Buffer) => (err = (err + c).slice(-4000)));
      p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`floor run failed: ${err}`))));
    });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { cpuMs: number[]; sysMs: number[] };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
