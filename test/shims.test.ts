/**
 * The bundle shims that replace behaviour (rather than code that is never reached) keep the
 * contract of the module they replace: compared here with the real packages, which are installed.
 * test/bundle.test.ts proves the shipped bundles still work against the signature-checking fakes.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { PassThrough } from 'stream';
import { gzipSync } from 'zlib';

/* eslint-disable @typescript-eslint/no-require-imports */
type Channel = { assert(k: unknown): void; delete(k: unknown): boolean; get(k: unknown): unknown; has(k: unknown): boolean; set(k: unknown, v: unknown): void };
const shim = (name: string): unknown => require(`../scripts/shims/${name}`);

test('side-channel: the WeakMap/Map shim behaves like the package for object and primitive keys', () => {
  const make = [require('side-channel') as () => Channel, shim('side-channel.cjs') as () => Channel];
  const results = make.map((getSideChannel) => {
    const c = getSideChannel();
    const o = {};
    const f = () => undefined;
    const trace: unknown[] = [c.has(o), c.get(o), c.delete(o)];
    c.set(o, 1);
    c.set(f, 2);
    c.set('k', 3);
    c.set(7, 4);
    trace.push(c.get(o), c.get(f), c.get('k'), c.get(7), c.has({}), c.get('x'), c.has('k'));
    c.set(o, 5);
    trace.push(c.get(o), c.delete(o), c.has(o), c.delete('k'), c.has('k'), c.get(7));
    let threw = false;
    try {
      c.assert({});
    } catch (e) {
      threw = e instanceof TypeError;
    }
    trace.push(threw);
    c.assert(f);
    return trace;
  });
  expect(results[1]).toEqual(results[0]);
});

test('tslib: __importDefault and __importStar give what the SDK reads, and star imports read lazily', () => {
  const real = require('tencentcloud-sdk-nodejs/node_modules/tslib') as { __importDefault: (m: unknown) => { default: unknown }; __importStar: (m: unknown) => Record<string, unknown> };
  const ours = shim('tslib.cjs') as typeof real;
  const cjs = { a: 1, b: () => 2 };
  const esm = { __esModule: true, default: 3 };
  expect(ours.__importDefault(cjs)).toEqual(real.__importDefault(cjs));
  expect(ours.__importDefault(esm)).toBe(esm);
  const star = ours.__importStar(cjs);
  expect({ ...star }).toEqual({ ...real.__importStar(cjs) });
  expect(star.default).toBe(cjs);
  // Read at use, not at import: Node's crypto module imported this way never touches webcrypto.
  let reads = 0;
  const lazy = ours.__importStar(Object.defineProperty({}, 'x', { enumerable: true, get: () => ++reads }));
  expect(reads).toBe(0);
  expect(lazy.x).toBe(1);
});

test('uuid: v4() is a random RFC 4122 version-4 id, as the package returns', () => {
  const ours = shim('uuid.cjs') as { v4: () => string };
  const real = require('tencentcloud-sdk-nodejs/node_modules/uuid') as { v4: () => string; validate: (s: string) => boolean; version: (s: string) => number };
  const id = ours.v4();
  expect(real.validate(id) && real.version(id)).toBe(4);
  expect(ours.v4()).not.toBe(id);
});

test('json-bigint: for the CCC request bodies this product sends, the shim writes the bytes the package writes', () => {
  const real = (require('json-bigint') as (o: { useNativeBigInt: boolean }) => { stringify: (v: unknown) => string })({ useNativeBigInt: true });
  const ours = (shim('json-native.cjs') as (o: unknown) => { stringify: (v: unknown) => string })({ useNativeBigInt: true });
  const bodies = [
    { SdkAppId: 1400000001, AudioList: [{ CustomFileName: '欢迎 main', AudioUrl: 'https://prompts-1250000000.cos.ap-guangzhou.myqcloud.com/prompts/%E6%AC%A2.mp3?q-sign-algorithm=sha1&q-ak=AKID&x-cos-security-token=t' }] },
    { SdkAppId: 1400000001, PageSize: 50, PageNumber: 0, FileId: [1001, 1002], CustomFileName: ['a "b"', 'c\\d', 'tab\there'] },
  ];
  for (const b of bodies) expect(ours.stringify(b)).toBe(real.stringify(b));
  // A BigInt, which this product never sends, fails loudly instead of going out different.
  expect(() => ours.stringify({ n: BigInt(1) })).toThrow(TypeError);
});

test('lazy zlib: the deferred functions inflate like Node’s own', async () => {
  const lazy = shim('lazy-zlib.cjs') as { createGunzip: (o?: object) => NodeJS.ReadWriteStream; Z_SYNC_FLUSH: number };
  expect(lazy.Z_SYNC_FLUSH).toBe(require('zlib').Z_SYNC_FLUSH);
  const gunzip = lazy.createGunzip({ flush: lazy.Z_SYNC_FLUSH, finishFlush: lazy.Z_SYNC_FLUSH });
  const chunks: Buffer[] = [];
  gunzip.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((resolve) => {
    gunzip.on('end', resolve);
    gunzip.end(gzipSync(Buffer.from('<DeleteResult/>')));
  });
  expect(Buffer.concat(chunks).toString()).toBe('<DeleteResult/>');
});

test('performance-now: milliseconds, increasing', () => {
  const now = shim('performance-now.cjs') as () => number;
  const a = now();
  const b = now();
  expect(typeof a).toBe('number');
  expect(b).toBeGreaterThanOrEqual(a);
});

test('lazy tunnel-agent: the same four functions, building the real tunnelling agents', () => {
  const real = require('tunnel-agent') as Record<string, (o: object) => { request?: unknown }>;
  const lazy = shim('lazy-tunnel-agent.cjs') as typeof real;
  for (const name of ['httpOverHttp', 'httpsOverHttp', 'httpOverHttps', 'httpsOverHttps']) {
    expect(typeof real[name]).toBe('function');
    const agent = lazy[name]({ proxy: { host: '127.0.0.1', port: 9 } });
    expect(agent.constructor.name).toBe(real[name]({ proxy: { host: '127.0.0.1', port: 9 } }).constructor.name);
  }
});

// --- cos-transport: the COS SDK's REQUEST(opt), compared on the wire with the real cos-request ---

type Seen = { method?: string; url?: string; headers: Record<string, string | string[] | undefined>; body: string };
type Sent = { seen: Seen; status?: number; headers?: Record<string, unknown>; body: string; events: string[]; error?: string };
type Requester = (opt: Record<string, unknown>) => NodeJS.EventEmitter & { abort?: () => void; write?: (c: Buffer) => void; end?: () => void };

/** A loopback server that records each request and answers from its path. */
async function echoServer(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url?.startsWith('/slow')) return; // never answers: the timeout test
      const status = req.url?.startsWith('/missing') ? 404 : 200;
      res.writeHead(status, { 'content-type': 'application/xml', 'x-cos-request-id': 'rid-1' });
      res.end(req.method === 'HEAD' ? undefined : `<R>${req.method} ${req.url}</R>`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** Sends one request the way sdk/base.js does, and collects what it emits. */
function send(request: Requester, opt: Record<string, unknown>, seen: Seen[], pipeBody?: string): Promise<Sent> {
  return new Promise((resolve) => {
    const sender = request(opt);
    const events: string[] = [];
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let headers: Record<string, unknown> | undefined;
    const id = (opt.headers as Record<string, string> | undefined)?.['x-test-id'];
    const done = (error?: string) => setImmediate(() => resolve({ seen: seen.find((x) => x.headers['x-test-id'] === id) ?? { headers: {}, body: '' }, status, headers, body: Buffer.concat(chunks).toString(), events, error }));
    sender.on('error', (e: NodeJS.ErrnoException) => {
      events.push('error');
      done(e.code);
    });
    sender.on('response', (res: http.IncomingMessage) => {
      events.push('response');
      status = res.statusCode;
      headers = { 'x-cos-request-id': res.headers['x-cos-request-id'], 'content-type': res.headers['content-type'] };
      sender.on('data', (c: Buffer) => chunks.push(c));
      sender.on('end', () => {
        events.push('end');
        done();
      });
    });
    if (pipeBody !== undefined) {
      const src = new PassThrough();
      src.pipe(sender as unknown as NodeJS.WritableStream);
      src.end(pipeBody);
    }
  });
}

describe('cos-transport: the bundles’ COS transport puts the same requests on the wire as cos-request', () => {
  const real = require('cos-request') as Requester;
  const lean = shim('cos-transport.cjs') as Requester;
  let server: Awaited<ReturnType<typeof echoServer>>;
  const saved = { ...process.env };
  beforeAll(async () => {
    server = await echoServer();
    // A proxy in the developer's shell would send the real request through it.
    for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) delete process.env[k];
  });
  afterAll(async () => {
    process.env = saved;
    await server.close();
  });

  const host = 'prompts-1250000000.cos.ap-guangzhou.myqcloud.com';
  let sent = 0;
  const cases: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['GET with a query merged into the url’s own (listing)', { method: 'GET', url: '/?prefix=old', qs: { prefix: '.ivr-audio-sync/queue/', marker: 'a b+c/欢迎 (1)!*\'', 'max-keys': 1000, delimiter: undefined, 'encoding-type': null } }, undefined],
    ['GET of an object, ranged', { method: 'GET', url: '/prompts/%E6%AC%A2%E8%BF%8E%20%281%29.mp3', headers: { Range: 'bytes=0-99' } }, undefined],
    ['HEAD', { method: 'HEAD', url: '/prompts/a.mp3' }, undefined],
    ['PUT with a Buffer body and create-if-absent', { method: 'PUT', url: '/.ivr-audio-sync/jobs/x/0', headers: { 'Content-Type': 'application/json', 'x-cos-forbid-overwrite': 'true' }, body: Buffer.from('{"v":2,"名":"é"}') }, undefined],
    ['PUT without a body (a copy): content-length 0, not chunked', { method: 'PUT', url: '/prompts/a.mp3', headers: { 'x-cos-copy-source': `${host}/prompts/a.mp3`, 'x-cos-metadata-directive': 'Replaced' } }, undefined],
    ['POST ?delete with an empty qs and a string body', { method: 'POST', url: '/?delete', qs: {}, headers: { 'Content-MD5': 'abc==' }, body: '<Delete><Quiet>true</Quiet></Delete>' }, undefined],
    ['DELETE', { method: 'DELETE', url: '/prompts/a.mp3', qs: { versionId: 'v 1' } }, undefined],
    ['an error status with a body', { method: 'GET', url: '/missing/key' }, undefined],
    ['PUT with a piped body and its length', { method: 'PUT', url: '/prompts/piped.mp3', headers: { 'Content-Length': 11 } }, 'hello world'],
  ];
  test.each(cases)('%s', async (_, base, pipeBody) => {
    const out: Sent[] = [];
    for (const request of [real, lean]) {
      const opt = { ...base, url: `${server.url}${base.url as string}`, headers: { Host: host, Authorization: 'q-sign-algorithm=sha1&q-signature=x', 'x-test-id': String(++sent), ...(base.headers as object) }, forever: true, timeout: 5000, followRedirect: false };
      out.push(await send(request, opt, server.seen, pipeBody));
    }
    const wire = (s: Sent) => ({ ...s, seen: { ...s.seen, headers: Object.fromEntries(Object.entries(s.seen.headers).filter(([k]) => k !== 'connection' && k !== 'x-test-id')) } });
    expect(out[0].seen.url).toEqual(expect.any(String));
    expect(wire(out[1])).toEqual(wire(out[0]));
    expect(out[1].error).toBeUndefined();
  });

  test('a request that gets no answer ends with ESOCKETTIMEDOUT, as cos-request’s does', async () => {
    const codes: Array<string | undefined> = [];
    for (const request of [real, lean]) codes.push((await send(request, { method: 'GET', url: `${server.url}/slow`, headers: { Host: host }, timeout: 50, forever: true, followRedirect: false }, server.seen)).error);
    expect(codes).toEqual(['ESOCKETTIMEDOUT', 'ESOCKETTIMEDOUT']);
  });

  test('a refused connection is one error event carrying the socket’s code', async () => {
    const r = await send(lean, { method: 'GET', url: 'http://127.0.0.1:9/', timeout: 2000, followRedirect: false }, server.seen);
    expect(r).toMatchObject({ events: ['error'], error: 'ECONNREFUSED' });
  });

  test('a connection that never completes (here: a name lookup that never answers) ends with ETIMEDOUT, connect: true, as cos-request’s does', async () => {
    // The one seam: Node's resolver, so the socket stays in its connecting phase.
    const dns = require('dns') as { lookup: unknown };
    const lookup = dns.lookup;
    dns.lookup = () => undefined;
    try {
      const errs = await Promise.all(
        [real, lean].map(
          (request) =>
            new Promise<{ code?: string; connect?: boolean }>((resolve) => {
              const s = request({ method: 'GET', url: 'http://bucket-1250000000.cos.ap-guangzhou.myqcloud.com/k', headers: {}, timeout: 80, forever: true, followRedirect: false });
              s.on('error', (e: NodeJS.ErrnoException & { connect?: boolean }) => resolve({ code: e.code, connect: e.connect }));
            }),
        ),
      );
      expect(errs).toEqual([{ code: 'ETIMEDOUT', connect: true }, { code: 'ETIMEDOUT', connect: true }]);
    } finally {
      dns.lookup = lookup;
    }
  });

  test('a connection cut in the middle of the body: one error, no end', async () => {
    const cut = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial', () => res.socket?.destroy());
    });
    await new Promise<void>((r) => cut.listen(0, '127.0.0.1', r));
    try {
      const port = (cut.address() as AddressInfo).port;
      const events = await new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        const s = lean({ method: 'GET', url: `http://127.0.0.1:${port}/k`, headers: {}, timeout: 2000, forever: true, followRedirect: false });
        s.on('response', () => {
          seen.push('response');
          s.on('data', () => undefined);
          s.on('end', () => seen.push('end'));
        });
        s.on('error', (e: NodeJS.ErrnoException) => {
          seen.push(`error ${e.code}`);
          // Anything else it would emit comes within the same few turns of the loop.
          setImmediate(() => setImmediate(() => resolve(seen)));
        });
      });
      expect(events).toEqual(['response', 'error ECONNRESET']);
    } finally {
      cut.closeAllConnections();
      await new Promise((r) => cut.close(r));
    }
  });
});

// --- fetch-lite: the CCC SDK's fetch(), compared on the wire and in its answers with node-fetch ---

type Fetch = (url: string, opts?: Record<string, unknown>) => Promise<{ status: number; statusText: string; ok: boolean; headers: { get(n: string): string | null }; json(): Promise<unknown>; text(): Promise<string> }>;
type Outcome = { seen?: Seen; status?: number; statusText?: string; ok?: boolean; contentType?: string | null; traceId?: string | null; body?: unknown; error?: { name: string; type?: string; code?: string; message: string } };

describe('fetch-lite: the bundles’ CCC transport sends and reads like node-fetch', () => {
  const realFetch = require('node-fetch') as Fetch;
  const lean = shim('fetch-lite.cjs') as Fetch;
  const seen: Seen[] = [];
  let url = '';
  let server: http.Server;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        const json = JSON.stringify({ Response: { RequestId: 'rid-1', Echo: req.url } });
        switch (req.url) {
          case '/gzip':
            res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-tc-traceid': 't-1' });
            return res.end(gzipSync(json));
          case '/bad-json':
            res.writeHead(200, { 'content-type': 'application/json' });
            return res.end('<html>gateway</html>');
          case '/http-502':
            res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/plain' });
            return res.end('bad gateway');
          case '/no-answer':
            return; // the client's timeout ends it
          case '/slow-body':
            res.writeHead(200, { 'content-type': 'application/json' });
            return res.write('{"Response":'); // never ends
          case '/reset':
            return req.socket.destroy();
          default:
            res.writeHead(200, { 'content-type': 'application/json', 'x-tc-traceid': 't-1' });
            return res.end(json);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  let n = 0;
  async function call(fetch: Fetch, path: string, opts: Record<string, unknown>, read: 'json' | 'text' = 'json'): Promise<Outcome> {
    const id = String(++n);
    const headers = { ...(opts.headers as object), 'x-test-id': id };
    const out: Outcome = {};
    try {
      const res = await fetch(`${url}${path}`, { ...opts, headers });
      Object.assign(out, { status: res.status, statusText: res.statusText, ok: res.ok, contentType: res.headers.get('Content-Type'), traceId: res.headers.get('x-tc-traceid') });
      out.body = await res[read]();
    } catch (e) {
      const err = e as Error & { type?: string; code?: string };
      out.error = { name: err.name, type: err.type, code: err.code, message: err.message.replace(url, '<url>') };
    }
    const s = seen.find((x) => x.headers['x-test-id'] === id);
    if (s) out.seen = { ...s, headers: Object.fromEntries(Object.entries(s.headers).filter(([k]) => k !== 'x-test-id' && k !== 'connection')) };
    return out;
  }

  // What the CCC SDK sends: a signed JSON POST with its X-TC-* headers, through a keep-alive agent.
  const agent = new http.Agent({ keepAlive: true });
  const post = (extra: Record<string, unknown> = {}) => ({
    method: 'POST',
    timeout: 2000,
    agent,
    headers: { Host: 'ccc.tencentcloudapi.com', 'X-TC-Action': 'UploadIvrAudio', 'X-TC-Timestamp': 1700000000, 'X-TC-Version': '2020-02-10', 'X-TC-Token': 'tok', 'X-TC-RequestClient': 'SDK_NODEJS_4.1.313', 'Content-Type': 'application/json', Authorization: 'TC3-HMAC-SHA256 Credential=x' },
    body: JSON.stringify({ SdkAppId: 1400000001, AudioList: [{ CustomFileName: '欢迎', AudioUrl: 'https://b.cos/a.mp3?sign=1' }] }),
    ...extra,
  });
  const cases: Array<[string, string, Record<string, unknown>, 'json' | 'text']> = [
    ['a signed JSON POST and its JSON answer', '/', post(), 'json'],
    ['a gzip answer is inflated', '/gzip', post(), 'json'],
    ['an answer that is not JSON: invalid-json, with node-fetch’s message', '/bad-json', post(), 'json'],
    ['an HTTP error status and its text', '/http-502', post(), 'text'],
    ['no answer before the timeout: request-timeout', '/no-answer', post({ timeout: 100 }), 'json'],
    ['an answer whose body stops: body-timeout', '/slow-body', post({ timeout: 100 }), 'json'],
    ['a connection reset before the answer: a system error with the socket’s code', '/reset', post(), 'json'],
    ['a GET without a body', '/get?x=1', { method: 'GET', agent, headers: { Host: 'ccc.tencentcloudapi.com' } }, 'json'],
  ];
  test.each(cases)('%s', async (_, path, opts, read) => {
    const a = await call(realFetch, path, opts, read);
    const b = await call(lean, path, opts, read);
    expect(a.seen ?? a.error).toBeDefined();
    expect(b).toEqual(a);
  });

  test('a refused connection: the same system error', async () => {
    const opts = { method: 'POST', body: '{}', timeout: 2000 };
    const errs = await Promise.all([realFetch, lean].map((f) => f('http://127.0.0.1:9/', opts).then(() => undefined, (e: Error & { type?: string; code?: string }) => ({ name: e.name, type: e.type, code: e.code, message: e.message }))));
    expect(errs[1]).toEqual(errs[0]);
    expect(errs[0]).toMatchObject({ type: 'system', code: 'ECONNREFUSED' });
  });

  test('answers nobody reads (the SDK throws on a non-200 status without reading) still give the keep-alive socket back', async () => {
    const counts = [];
    for (const f of [realFetch, lean]) {
      const a = new http.Agent({ keepAlive: true });
      for (let i = 0; i < 5; i++) await f(`${url}/http-502`, { method: 'POST', body: '{}', agent: a });
      const count = (m: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(m).reduce((n, l) => n + (l?.length ?? 0), 0);
      // The last answer's socket goes back once its body has ended: wait for that, not for a time.
      if (count(a.freeSockets) === 0) await new Promise((r) => a.once('free', r));
      await new Promise((r) => setImmediate(r));
      counts.push({ busy: count(a.sockets), free: count(a.freeSockets) });
      a.destroy();
    }
    expect(counts[1]).toEqual(counts[0]);
    expect(counts[1]).toEqual({ busy: 0, free: 1 });
  });

  test('an aborted signal rejects with an AbortError before sending', async () => {
    const ac = new AbortController();
    ac.abort();
    const errs = await Promise.all([realFetch, lean].map((f) => f(`${url}/`, { method: 'POST', body: '{}', signal: ac.signal }).then(() => undefined, (e: Error & { type?: string }) => ({ name: e.name, type: e.type, message: e.message }))));
    expect(errs[1]).toEqual(errs[0]);
  });
});
