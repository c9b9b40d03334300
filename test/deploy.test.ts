/**
 * Offline checks of what `sls deploy` would deploy, so a broken deploy is caught before a user
 * runs it: serverless.yml against the multi-scf input shape (platform reference §7), the bundles
 * it points at, triggers, timer, environment, limits, the package contents and the CAM policy.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../shared/core/config';
import { cronMatches, parseCron } from '../scripts/lib/cron';
import { envReferences, loadServerlessYml, readDotenv, renderPolicy, ROOT } from '../scripts/lib/deploy-config';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const example = readDotenv(path.join(ROOT, '.env.example'));
const yml = loadServerlessYml(example) as Obj;
const inputs = yml.inputs as Obj;
const functions = inputs.functions as Record<string, Obj>;
const triggers = inputs.triggers as Obj[];
const pkgDir = path.join(ROOT, inputs.src.dist);
const RUNTIMES = ['Nodejs16.13', 'Nodejs18.15', 'Nodejs20.15', 'Nodejs12.16'];
const COS_EVENTS = ['cos:ObjectCreated:Put', 'cos:ObjectCreated:Post', 'cos:ObjectCreated:CompleteMultipartUpload'];

test('serverless.yml is a multi-scf component file that serverless@2 routes to Tencent', () => {
  expect(yml).toMatchObject({ app: expect.any(String), stage: expect.any(String), component: 'multi-scf', name: expect.any(String) });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.devDependencies.serverless).toBe('2.72.4');
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  expect(lock.packages['node_modules/serverless'].version).toBe('2.72.4');
  expect(inputs.src).toEqual({ hook: 'npm run build', dist: './dist/package' });
  expect(inputs.region).toMatch(/^ap-[a-z]+(-[a-z]+)?$/);
  expect(RUNTIMES).toContain(inputs.runtime);
  expect(Object.keys(functions).sort()).toEqual(['report', 'upload']);
});

test('every ${env:…} the file uses is listed in .env.example, and .env stays out of git', () => {
  const refs = envReferences(fs.readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'));
  for (const name of refs) expect(Object.keys(example)).toContain(name);
  expect(Object.keys(example)).toEqual(expect.arrayContaining(['TENCENT_SECRET_ID', 'TENCENT_SECRET_KEY']));
  expect(example.TENCENT_SECRET_KEY).toBe('');
  expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('.env');
});

describe.each(Object.entries(functions))('function %s', (key, fn) => {
  test('its handler resolves to a bundle in the package that exports main_handler', () => {
    const [file, exported] = [fn.handler.slice(0, fn.handler.lastIndexOf('.')), fn.handler.slice(fn.handler.lastIndexOf('.') + 1)];
    const bundle = path.join(pkgDir, `${file}.js`);
    expect(fs.existsSync(bundle)).toBe(true);
    expect(exported).toBe('main_handler');
    // Loading it runs its cold start, which logs (to stdout, as on SCF) that no config is set here.
    const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(bundle);
    quiet.mockRestore();
    expect(typeof loaded.main_handler).toBe('function');
  });

  test('memory, timeout and role are valid', () => {
    const mem = Number(fn.memorySize);
    expect(mem === 64 || (mem >= 128 && mem <= 3072 && mem % 128 === 0)).toBe(true);
    expect(fn.timeout).toBeGreaterThanOrEqual(1);
    expect(fn.timeout).toBeLessThanOrEqual(900);
    expect(fn.role).toMatch(/^[\w+=,.@-]+$/);
  });

  test('its environment is complete, uses no reserved prefix, and is valid for the function', () => {
    expect(fn.environments).toEqual(fn.environment);
    const env: Record<string, string> = {};
    for (const { key: k, value } of fn.environments as Array<{ key: string; value: unknown }>) {
      expect(k).not.toMatch(/^(SCF_|QCLOUD_|TENCENTCLOUD_)/);
      env[k] = String(value ?? '');
    }
    // What SCF adds at run time (role credentials and region), then the function's own validation.
    const config = loadConfig({ ...env, TENCENTCLOUD_SECRETID: 'x', TENCENTCLOUD_SECRETKEY: 'y', TENCENTCLOUD_REGION: inputs.region });
    expect(config.bucket).toBe(example.BUCKET);
    expect(config.audioPrefix).not.toBe('');
    if (key === 'upload') expect(fn.timeout).toBeGreaterThan(config.waitSeconds + 30);
  });
});

describe('COS triggers', () => {
  const cos = triggers.filter((t) => t.type === 'cos');
  test('bind the upload function to Put, Post and CompleteMultipartUpload, never Copy', () => {
    expect(cos.map((t) => t.parameters.events).sort()).toEqual([...COS_EVENTS].sort());
    for (const t of cos) expect(t.function).toBe('upload');
    expect(cos.length).toBeLessThanOrEqual(10);
  });
  test.each(cos.map((t) => [t.parameters.name, t]))('%s is well-formed', (_name, t) => {
    const p = (t as Obj).parameters;
    const m = /^([a-z0-9-]+-\d+)\.cos\.([a-z0-9-]+)\.myqcloud\.com$/.exec(p.bucket);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(example.BUCKET);
    expect(m![2]).toBe(inputs.region);
    expect(p.enable).toBe(true);
    expect(typeof p.events).toBe('string');
    expect(p.filter.prefix).toMatch(/^[^/].*\/$/);
    if (p.filter.suffix !== undefined) expect(p.filter.suffix).toMatch(/^\./);
    // The ledger lives outside the trigger's prefix, or every ledger write would invoke the function.
    expect(example.LEDGER_PREFIX.startsWith(p.filter.prefix)).toBe(false);
  });
  test('each event + prefix + suffix combination is bound once', () => {
    const combos = cos.map((t) => `${t.parameters.events}|${t.parameters.filter.prefix}|${t.parameters.filter.suffix ?? ''}`);
    expect(new Set(combos).size).toBe(combos.length);
  });
});

test('the timer runs quota-report on a valid seven-field cron', () => {
  const timers = triggers.filter((t) => t.type === 'timer');
  expect(timers).toHaveLength(1);
  const t = timers[0];
  expect(t.function).toBe('report');
  expect(t.parameters).toMatchObject({ name: expect.any(String), enable: true });
  const cron = parseCron(String(t.parameters.cronExpression));
  // Fires once a day: exactly one match in a day's seconds.
  const day = Date.parse('2026-01-01T00:00:00Z');
  let hits = 0;
  for (let s = 0; s < 86400; s++) if (cronMatches(cron, day + s * 1000, 0)) hits++;
  expect(hits).toBe(1);
  expect(() => parseCron('0 5 0 * * *')).toThrow(/seven fields/);
  expect(() => parseCron('0 61 0 * * * *')).toThrow(/out of range/);
});

test('the deploy package holds the two bundles, the lazily loaded audio converter, and nothing else', () => {
  const files = fs.readdirSync(pkgDir).sort();
  expect(files).toEqual(['audio_convert.js', 'ivr_upload.js', 'quota_report.js']);
  const sizes = files.map((f) => `${f} ${(fs.statSync(path.join(pkgDir, f)).size / 1024).toFixed(0)} KB`);
  process.stdout.write(`deploy package: ${sizes.join(', ')}\n`);
  for (const f of files) {
    const text = fs.readFileSync(path.join(pkgDir, f), 'utf8');
    expect(text).not.toMatch(/require\(["'](tencentcloud-sdk-nodejs|cos-nodejs-sdk-v5)/);
  }
});

test('the CAM policy grants exactly what the code calls', () => {
  const source = ['cos.ts', 'ccc.ts'].map((f) => fs.readFileSync(path.join(ROOT, 'shared', 'sdk', f), 'utf8')).join('\n');
  const cosCalls = [...source.matchAll(/this\.cos\.(\w+)\(/g)].map((m) => m[1]);
  const cccCalls = [...source.matchAll(/client\.([A-Z]\w+)\(/g)].map((m) => m[1]);
  const COS_ACTIONS: Record<string, string[]> = {
    headObject: ['HeadObject'],
    getObject: ['GetObject'],
    putObject: ['PutObject'],
    putObjectCopy: ['PutObject', 'GetObject'],
    getBucket: ['GetBucket'],
    deleteObject: ['DeleteObject'],
    getObjectUrl: ['GetObject'],
  };
  const needed = new Set([...cosCalls.flatMap((c) => (COS_ACTIONS[c] ?? [`unmapped:${c}`]).map((a) => `name/cos:${a}`)), ...cccCalls.map((c) => `name/ccc:${c}`)]);
  const policy = renderPolicy(example) as { statement: Array<{ action: string[]; resource: string[] }> };
  const granted = new Set(policy.statement.flatMap((s) => s.action));
  expect([...granted].sort()).toEqual([...needed].sort());
  for (const s of policy.statement) for (const r of s.resource) expect(r).not.toContain('${');
  // Writes are confined to the two prefixes; only the listing is bucket-wide.
  const writes = policy.statement.filter((s) => s.action.some((a) => /PutObject|DeleteObject/.test(a)));
  for (const s of writes) for (const r of s.resource) expect(r).toMatch(new RegExp(`/(${example.AUDIO_PREFIX}|${example.LEDGER_PREFIX.replace('.', '\\.')})\\*$`));
});
