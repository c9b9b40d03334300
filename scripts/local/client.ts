/** Talking to a running local stack from another process (`npm run report`, `npm run status`). */
import COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { CREDENTIAL, type LocalSettings } from './settings';

export interface StackFile {
  pid: number;
  cosPort: number;
  cccPort: number;
  prefix: string;
  quota: number;
}

export const stackFile = (s: LocalSettings) => path.join(s.dataDir, 'stack.json');

export function cosClient(cosPort: number): COS {
  return new COS({ SecretId: CREDENTIAL.secretId, SecretKey: CREDENTIAL.secretKey, SecurityToken: CREDENTIAL.token, Ip: `127.0.0.1:${cosPort}`, Protocol: 'http:', AutoSwitchHost: false });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The running stack's ports, or a clear message telling the user to start it. */
export async function findStack(s: LocalSettings): Promise<StackFile> {
  const file = stackFile(s);
  const info = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as StackFile) : undefined;
  if (!info || !(await listening(info.cosPort)) || !(await listening(info.cccPort))) {
    throw new Error('the local stack is not running: start it with `npm start` in another terminal');
  }
  return info;
}
