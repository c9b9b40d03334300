/**
 * The bundle shims that replace behaviour (rather than code that is never reached) keep the
 * contract of the module they replace: compared here with the real packages, which are installed.
 * test/bundle.test.ts proves the shipped bundles still work against the signature-checking fakes.
 */
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
