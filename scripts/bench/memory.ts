/**
 * Peak memory with large files, on the real path: the upload bundle in a fresh process (as a cold
 * SCF instance), one COS event, each object read through cos-nodejs-sdk-v5 from the fake COS,
 * checked, converted where it must be, its copy written, the call made.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cosEvent, cosEventRecord } from '../local/fakes/events';
import { FAKE_BUCKET, FAKE_REGION, startFakeStack } from '../local/fake-stack';
import { CHILD, PKG } from './cold';
import { functionNode } from './node';

/** What scripts/bench/child.cjs `invoke` prints: the first event cold, the rest warm. */
export interface ChildRun {
  coldMs: number;
  coldCpuMs: number;
  maxRssKiB: number;
  warmCpuMs: number[];
  warmSysMs: number[];
  statuses: string[];
}

/** Runs `events` through ivr_upload.js in a fresh process with `env` only, `gapMs` apart. */
export async function invokeChild(events: unknown[], env: NodeJS.ProcessEnv, gapMs = 0): Promise<ChildRun> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-bench-'));
  try {
    const file = path.join(tmp, 'events.json');
    fs.writeFileSync(file, JSON.stringify(events));
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(functionNode(), [CHILD, 'invoke', path.join(PKG, 'ivr_upload.js'), file, String(gapMs)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => (text += c));
      p.stderr.on('data', (c: Buffer) => (err = (err + c).slice(-4000)));
      p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`invocation run failed: ${err}`))));
    });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildRun;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A 44.1 kHz stereo 16-bit PCM WAV of `bytes` bytes (a tone: the converter does its full work). */
export function largeWav(bytes: number): Buffer {
  const data = bytes - 44;
  const b = Buffer.alloc(bytes);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(2, 22);
  b.writeUInt32LE(44100, 24);
  b.writeUInt32LE(44100 * 4, 28);
  b.writeUInt16LE(4, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(data, 40);
  for (let i = 44; i + 1 < bytes; i += 2) b.writeInt16LE(Math.round(Math.sin(i / 50) * 8000), i);
  return b;
}

/** Peak RSS (KiB) of one cold invocation whose event holds `count` WAVs of `bytes` each, and their statuses. */
export async function largeFilesEvent(count: number, bytes: number, env: Record<string, string> = {}): Promise<ChildRun> {
  const stack = await startFakeStack();
  try {
    const body = largeWav(bytes);
    const records = Array.from({ length: count }, (_, i) => {
      const key = `prompts/large/prompt-${i}.wav`;
      stack.cos.putDirect(FAKE_BUCKET, key, body, { contentType: 'audio/wav' });
      return cosEventRecord({ bucket: FAKE_BUCKET, region: FAKE_REGION, key, size: body.length });
    });
    return await invokeChild([cosEvent(...records)], { ...stack.env('ivr-upload'), ...env });
  } finally {
    await stack.stop();
  }
}
