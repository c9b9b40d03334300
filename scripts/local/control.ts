/**
 * How a client command asks the running stack to do something (`npm run local -- next-day`): a
 * small HTTP endpoint on loopback, on a port the system picks, named in the stack file together
 * with a random token.
 *
 * Why an endpoint and not a request file the stack polls: the answer comes back on the same
 * connection when the work is done (what the recovery pass did, or why the stack refused), a stack
 * that dies mid-request shows as a broken connection at once instead of a reply that never comes,
 * and there are no request or answer files to clean up after a crash. Why the token: any local
 * program, a web page included, can reach a loopback port; only someone who can read the state
 * folder (where the stack file is written readable by its owner only) can move its clock.
 */
import { randomBytes, timingSafeEqual } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

/** Control commands the stack serves, and whether each takes an argument: `next-day`, and `ccc` with the fault's name (`POST /ccc/lost`). */
const COMMANDS = { 'next-day': false, ccc: true } as const;

/** A control command the stack serves. */
export type ControlCommand = keyof typeof COMMANDS;

const isCommand = (s: string): s is ControlCommand => Object.prototype.hasOwnProperty.call(COMMANDS, s);

/**
 * The command and argument a request's path names, or undefined for anything else: exactly
 * `/<command>` or `/<command>/<argument>` as the command takes one, no query.
 */
export function parseControlPath(url: string): { command: ControlCommand; argument?: string } | undefined {
  if (!url.startsWith('/') || url.includes('?') || url.includes('#')) return undefined;
  const [command, argument, ...rest] = url.slice(1).split('/');
  if (!isCommand(command) || rest.length > 0 || (argument !== undefined) !== COMMANDS[command]) return undefined;
  if (argument === undefined) return { command };
  try {
    const decoded = decodeURIComponent(argument);
    return decoded === '' ? undefined : { command, argument: decoded };
  } catch {
    return undefined;
  }
}

/** How the stack answers a path it does not serve (a stack older than the command, too). */
export const UNKNOWN = 'unknown command';

/** The stack's answer: its own fields, or why it refused. */
export type ControlAnswer<T> = ({ ok: true } & T) | { ok: false; message: string };

/** A refusal the client shows as it is (e.g. "busy, try again"), rather than a failure. */
export class ControlRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlRefusal';
  }
}

/** The running endpoint: where it listens and the token a caller must present. */
export interface ControlServer {
  port: number;
  token: string;
  stop(): Promise<void>;
}

const sameToken = (given: string, token: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Serves `POST /<command>[/<argument>]` on 127.0.0.1 with `Authorization: Bearer <token>`. A
 * handler's {@link ControlRefusal} answers 409 with its message; anything else it throws answers 500.
 * `abandoned` hears of a command whose caller hung up before its answer (the handler goes on).
 */
export async function startControl(handlers: Record<ControlCommand, (argument?: string) => Promise<object>>, abandoned?: (command: ControlCommand) => void): Promise<ControlServer> {
  const token = randomBytes(24).toString('hex');
  const server = http.createServer((req, res) => {
    const answer = (status: number, body: ControlAnswer<object>) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
    };
    // The body is never read: every command is its path. Drain it so the connection closes cleanly.
    req.resume();
    if (!sameToken(String(req.headers.authorization ?? ''), `Bearer ${token}`)) return answer(403, { ok: false, message: 'not allowed' });
    const parsed = req.method === 'POST' ? parseControlPath(req.url ?? '') : undefined;
    if (!parsed) return answer(404, { ok: false, message: `${UNKNOWN} ${req.method} ${req.url}` });
    // The command that asked stopped waiting (Ctrl-C): the handler goes on, and the stack may say so.
    res.on('close', () => {
      if (!res.writableEnded) abandoned?.(parsed.command);
    });
    handlers[parsed.command](parsed.argument).then(
      (result) => answer(200, { ok: true, ...result }),
      (e: unknown) => answer(e instanceof ControlRefusal ? 409 : 500, { ok: false, message: e instanceof Error ? e.message : String(e) }),
    );
  });
  // A day move may wait for invocations to finish and then run a whole recovery pass.
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    token,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends `command` (with its argument, if any) to the stack's endpoint and returns its answer;
 * `onSent` is called once the request is out (the stack acts on it whether or not the answer is
 * awaited).
 * @throws Error when the stack cannot be reached or its connection breaks
 */
export function callControl<T extends object>(endpoint: { port: number; token: string }, command: ControlCommand, argument?: string, onSent?: () => void): Promise<ControlAnswer<T>> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: endpoint.port, method: 'POST', path: `/${command}${argument === undefined ? '' : `/${encodeURIComponent(argument)}`}`, headers: { Authorization: `Bearer ${endpoint.token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlAnswer<T>);
        } catch {
          reject(new Error(`the stack answered ${command} with HTTP ${res.statusCode} and no readable body`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', (e) => reject(new Error(`the stack stopped answering (${e.message}); see its terminal`)));
    if (onSent) req.on('finish', onSent);
    req.end();
  });
}
