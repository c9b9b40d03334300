/** What both fakes share: an HTTP server on 127.0.0.1 and a queue of injected faults. */
import * as http from 'http';
import type { AddressInfo } from 'net';

export class LoopbackServer {
  protected readonly server: http.Server;
  port = 0;

  constructor(
    private readonly wantedPort: number | undefined,
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  ) {
    // A handler that throws after it has answered (a listener it called failed) must not become
    // an unhandled rejection: that ends the process hosting the fake, e.g. the whole local stack.
    this.server = http.createServer((req, res) =>
      void handler(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      }),
    );
    // Real endpoints keep idle connections open for many seconds; so do the fakes.
    this.server.keepAliveTimeout = 30000;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(this.wantedPort ?? 0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

export interface Fault {
  /** How many matching requests it hits (default 1). */
  times?: number;
  /** Let this many matching requests through first, to fail at an exact step. */
  after?: number;
}

export class FaultQueue<F extends Fault> {
  private faults: F[] = [];

  add(fault: F): void {
    this.faults.push({ times: 1, ...fault });
  }

  clear(): void {
    this.faults = [];
  }

  /** The faults still to come, each counted as often as it will still apply (`times`), that `matches`. */
  count(matches: (f: F) => boolean = () => true): number {
    return this.faults.filter(matches).reduce((n, f) => n + (f.times ?? 1), 0);
  }

  /** The first fault matching this request, if it is due; counts it down. */
  take(matches: (f: F) => boolean): F | undefined {
    const i = this.faults.findIndex(matches);
    if (i === -1) return undefined;
    const f = this.faults[i];
    if (f.after && f.after > 0) {
      f.after--;
      return undefined;
    }
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }
}
