/** Checks that the stack's ports are free before anything starts, so a clash is one clear line. */
import * as net from 'net';
import { StartupError } from './cli';

/** Resolves with the error code when `port` cannot be listened on at 127.0.0.1, else undefined. */
export function portProblem(port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'EUNKNOWN'));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(undefined)));
  });
}

/** The one line shown when a port cannot be used. */
export function portMessage(port: number, option: string, code: string): string {
  const why = code === 'EADDRINUSE' ? 'is already in use (another local stack or program is listening on it)' : code === 'EACCES' ? 'needs privileges to be used' : `cannot be used (${code})`;
  return `port ${port} ${why}; choose another with ${option} <port>, e.g. ${option} ${port + 10}, or ${option} 0 for any free port`;
}

/** Throws a StartupError naming the first port (and its option) that cannot be used. */
export async function checkPorts(ports: Array<{ port: number; option: string }>): Promise<void> {
  for (const { port, option } of ports) {
    const code = await portProblem(port);
    if (code) throw new StartupError(portMessage(port, option, code));
  }
}
