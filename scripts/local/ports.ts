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

/** The one line for every port that cannot be used: all of them at once, so one retry is enough. */
export function portsMessage(problems: ReadonlyArray<{ port: number; option: string; code: string }>): string {
  if (problems.length === 1) return portMessage(problems[0].port, problems[0].option, problems[0].code);
  const each = problems.every((p) => p.code === 'EADDRINUSE')
    ? `ports ${problems.map((p) => p.port).join(' and ')} are already in use (another local stack or program is listening on them)`
    : problems.map((p) => `port ${p.port} ${p.code === 'EADDRINUSE' ? 'is already in use' : p.code === 'EACCES' ? 'needs privileges' : `cannot be used (${p.code})`}`).join(', ');
  return `${each}; choose others with ${problems.map((p) => `${p.option} <port>`).join(' ')}, e.g. ${problems.map((p) => `${p.option} ${p.port + 10}`).join(' ')}, or 0 for any free port`;
}

/** Throws a StartupError naming every port (and its option) that cannot be used. */
export async function checkPorts(ports: Array<{ port: number; option: string }>): Promise<void> {
  const problems: Array<{ port: number; option: string; code: string }> = [];
  for (const { port, option } of ports) {
    const code = await portProblem(port);
    if (code) problems.push({ port, option, code });
  }
  if (problems.length > 0) throw new StartupError(portsMessage(problems));
}
