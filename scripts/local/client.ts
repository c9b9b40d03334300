/** Talking to a running local stack from another process (`npm run report`, `npm run status`). */
import COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { callControl, UNKNOWN, type ControlCommand } from './control';
import { CREDENTIAL, ROOT } from './settings';
import { shellPath, shellWord } from './shell';

/** What a running stack tells the other commands about itself (no secrets). */
export interface StackFile {
  pid: number;
  cosPort: number;
  cccPort: number;
  prefix: string;
  quota: number;
  /** The quota day's zone, `+08:00`. */
  quotaOffset: string;
  dropDir: string;
  /** The stack's control endpoint on loopback (`control.ts`); absent in a stack that predates it. */
  control?: { port: number; token: string };
}

/** Where a stack with this state folder describes itself while it runs. */
export const stackFile = (dataDir: string): string => path.join(dataDir, 'stack.json');

/**
 * Writes the stack file atomically, so a reader never sees half of it, and readable by its owner
 * only: it holds the control endpoint's token.
 */
export function writeStackFile(s: { dataDir: string }, info: StackFile): void {
  const file = stackFile(s.dataDir);
  fs.rmSync(`${file}.tmp`, { force: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(info), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** A COS client for the local bucket, signing like any user's client. */
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

/** The running stack's ports and settings, or a clear message telling the user to start it. */
export async function findStack(dataDir: string): Promise<StackFile> {
  let info: StackFile | undefined;
  try {
    info = JSON.parse(fs.readFileSync(stackFile(dataDir), 'utf8')) as StackFile;
  } catch {
    info = undefined;
  }
  if (!info || !(await listening(info.cosPort)) || !(await listening(info.cccPort))) {
    // This command asks the running stack, not the folder: say how to start the stack for this
    // very folder, with the drop folder and prefix it last ran with (a stack started on this state
    // folder with another drop folder would stop withdrawing files removed while it was stopped).
    throw new Error(`no local stack is running with state in ${dataDir}: start it in another terminal (this command asks the running stack), \`${startCommand(dataDir)}\` with the other options it ran with, or pass the --data of the one running`);
  }
  return info;
}

/** What a command says when the stack it reaches predates it. */
const RESTART = 'the running stack was started before this command existed: restart it (Ctrl-C in its terminal, then npm start)';

/**
 * Sends a control command to the stack running with this state folder and returns its answer's
 * fields. Throws one line to show the operator: no stack, a stack too old for the command, or
 * why the stack refused. `onSent`: see {@link callControl}.
 */
export async function askStack<T extends object>(dataDir: string, command: ControlCommand, argument?: string, onSent?: () => void): Promise<T> {
  const stack = await findStack(dataDir);
  if (!stack.control) throw new Error(RESTART);
  const answer = await callControl<T>(stack.control, command, argument, onSent);
  if (answer.ok) return answer;
  throw new Error(answer.message.startsWith(UNKNOWN) ? RESTART : answer.message);
}


/** `npm start` for a state folder, with the drop folder and prefix it last ran with (none recorded: the folder alone). */
function startCommand(dataDir: string): string {
  const used = readPairings(dataDir);
  const last = used[used.length - 1];
  const args = [
    ...(path.resolve(dataDir) === path.join(ROOT, '.local') ? [] : ['--data', shellPath(dataDir)]),
    ...(last && last.dropDir !== path.join(ROOT, 'drop') ? ['--drop', shellPath(last.dropDir)] : []),
    ...(last && last.prefix !== 'prompts/' ? ['--prefix', shellWord(last.prefix)] : []),
  ];
  return `npm start${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
}

/** A drop folder and key prefix a state folder was started with. */
export interface DropPairing {
  dropDir: string;
  prefix: string;
}

const pairingsFile = (dataDir: string): string => path.join(dataDir, 'drop-folder.json');

/** The drop folders and prefixes a state folder ran with, last one last (none recorded, or unreadable: none). */
function readPairings(dataDir: string): DropPairing[] {
  try {
    const p = JSON.parse(fs.readFileSync(pairingsFile(dataDir), 'utf8')) as { used?: unknown };
    return Array.isArray(p.used) ? p.used.filter((u): u is DropPairing => typeof u?.dropDir === 'string' && typeof u?.prefix === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Records in `<data>/drop-folder.json` that this state folder now runs with `dropDir` and
 * `prefix`, and says whether it has only ever run with these (`same`), and which ones it ran with
 * last when it has not. Once a state folder has been used with two drop folders, a waiting object
 * may belong to either, so `same` stays false for good (false too on the first start, or for a
 * state folder from before this record existed).
 */
export function pairWithDropFolder(dataDir: string, dropDir: string, prefix: string): { same: boolean; previous?: DropPairing } {
  const now: DropPairing = { dropDir: path.resolve(dropDir), prefix };
  const used = readPairings(dataDir);
  const isNow = (u: DropPairing) => u.dropDir === now.dropDir && u.prefix === now.prefix;
  const previous = used[used.length - 1];
  const same = used.length > 0 && used.every(isNow);
  fs.writeFileSync(pairingsFile(dataDir), JSON.stringify({ used: [...used.filter((u) => !isNow(u)), now] }));
  return { same, previous };
}
