/**
 * Cold load of a function bundle against an empty Node process, measured the way SCF starts an
 * instance: a fresh `node` with only the function's environment (nothing inherited from the
 * shell: an inherited NODE_OPTIONS or NODE_EXTRA_CA_CERTS changes both figures), runs of the
 * bundle interleaved with runs of an empty handler module so that machine noise hits both alike,
 * and medians.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { esbuildTarget } from '../lib/runtime';
import { functionEnv } from '../local/fake-stack';
import { functionNode } from './node';

/** The script every measured child process runs (see its header for the modes). */
export const CHILD = path.join(__dirname, 'child.cjs');
/** The deploy package `npm run build` writes: what SCF runs. */
export const PKG = path.resolve(__dirname, '..', '..', 'dist', 'package');

/** The deployed bundles and the function each one is. */
export const BUNDLES = [
  { file: 'ivr_upload.js', fn: 'ivr-upload' },
  { file: 'quota_report.js', fn: 'quota-report' },
] as const;

/** The median (the mean of the middle two for an even count). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Loading alone never connects anywhere: a closed port is enough for the endpoints. */
const NOWHERE = 'http://127.0.0.1:9';

/** The environment a bundle is loaded with for cold-load runs. */
export const loadEnv = (fn: 'ivr-upload' | 'quota-report'): Record<string, string> => functionEnv({ fn, cosEndpoint: NOWHERE, cccEndpoint: NOWHERE });

/** One `node child.cjs init <module>`: wall time (ms) and peak RSS (KiB). */
function loadOnce(node: string, file: string, env: Record<string, string>): { ms: number; rssKiB: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(node, [CHILD, 'init', file], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`loading ${file} failed: ${r.stderr.slice(-500)}`);
  return { ms, rssKiB: (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { maxRssKiB: number }).maxRssKiB };
}

/** What {@link measureCold} measured: medians over `runs` interleaved rounds. */
export interface ColdResult {
  runs: number;
  emptyMs: number;
  emptyRssKiB: number;
  /** Per bundle file: median wall time, ratio to the empty process, median peak RSS. */
  bundles: Record<string, { ms: number; ratio: number; rssKiB: number }>;
}

/**
 * `runs` rounds; each round starts the empty module and every bundle once, in a rotating order so
 * no bundle always runs right after another. The ratio is of medians.
 */
export function measureCold(runs: number, files: ReadonlyArray<{ file: string; fn: 'ivr-upload' | 'quota-report' }> = BUNDLES, pkg = PKG, node = functionNode()): ColdResult {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-cold-'));
  try {
    // The baseline is a handler module that does nothing: the same loader path, no code.
    const empty = path.join(tmp, 'empty.js');
    fs.writeFileSync(empty, 'exports.main_handler = async () => ({});\n');
    const subjects = [{ key: 'empty', file: empty, env: loadEnv('ivr-upload') }, ...files.map((b) => ({ key: b.file, file: path.join(pkg, b.file), env: loadEnv(b.fn) }))];
    const ms = new Map<string, number[]>(subjects.map((s) => [s.key, []]));
    const rss = new Map<string, number[]>(subjects.map((s) => [s.key, []]));
    // One untimed warm-up of each: the first start after a build pays for the page cache.
    for (const s of subjects) loadOnce(node, s.file, s.env);
    for (let i = 0; i < runs; i++) {
      for (let j = 0; j < subjects.length; j++) {
        const s = subjects[(i + j) % subjects.length];
        const r = loadOnce(node, s.file, s.env);
        ms.get(s.key)!.push(r.ms);
        rss.get(s.key)!.push(r.rssKiB);
      }
    }
    const emptyMs = median(ms.get('empty')!);
    const bundles: ColdResult['bundles'] = {};
    for (const b of files) {
      const m = median(ms.get(b.file)!);
      bundles[b.file] = { ms: m, ratio: m / emptyMs, rssKiB: median(rss.get(b.file)!) };
    }
    return { runs, emptyMs, emptyRssKiB: median(rss.get('empty')!), bundles };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Where one bundle's cold load goes, in-process (medians): see child.cjs `breakdown`. */
export interface ColdBreakdown {
  /** Public Node core modules loading the bundle pulls in (beyond what an empty process has). */
  builtins: string[];
  coreMs: number;
  readMs: number;
  compileMs: number;
  /** Module top-level code of the SDKs and ours, the runtime's init, and the lazy compiles they cause. */
  runMs: number;
  /** The same with a V8 code cache made by this very Node binary (not shipped; see README). */
  cached: { compileMs: number; runMs: number; rejected: boolean; bytes: number };
}

function child(args: string[], env: Record<string, string>): Record<string, unknown> {
  const r = spawnSync(functionNode(), [CHILD, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`child ${args[0]} failed: ${r.stderr.slice(-500)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

/**
 * Splits one bundle's cold load into Node core modules, reading, compiling and running, in-process
 * (medians of `runs`), and measures the same with a V8 code cache made by this Node binary — the
 * most a code cache could give, on the one binary and flag set that made it.
 */
export function measureBreakdown(runs: number, b: { file: string; fn: 'ivr-upload' | 'quota-report' }, pkg = PKG): ColdBreakdown {
  const env = loadEnv(b.fn);
  const file = path.join(pkg, b.file);
  const builtins = child(['builtins', file], env).builtins as string[];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-cache-'));
  try {
    const cacheFile = path.join(tmp, 'bundle.cache');
    const bytes = child(['cache-make', file, cacheFile], env).bytes as number;
    const plain: Array<Record<string, number>> = [];
    const cached: Array<Record<string, number | boolean>> = [];
    for (let i = 0; i < runs; i++) {
      plain.push(child(['breakdown', file, builtins.join(',')], env) as Record<string, number>);
      cached.push(child(['breakdown', file, builtins.join(','), cacheFile], env) as Record<string, number | boolean>);
    }
    const med = (xs: Array<Record<string, number | boolean>>, k: string) => median(xs.map((x) => Number(x[k])));
    return {
      builtins,
      coreMs: med(plain, 'coreMs'),
      readMs: med(plain, 'readMs'),
      compileMs: med(plain, 'compileMs'),
      runMs: med(plain, 'runMs'),
      cached: { compileMs: med(cached, 'compileMs'), runMs: med(cached, 'runMs'), rejected: cached.some((x) => x.cacheRejected === true), bytes },
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** What scripts/lib/bundle-options.mjs exports (plain JavaScript, shared with scripts/build.mjs). */
interface BundleOptionsModule {
  bundleOptions(target: string): Record<string, unknown>;
}

/**
 * Builds scripts/bench/sdk-floor-entry.ts (the COS SDK alone, with the functions' shims and
 * patches) into `dir` as `cos_sdk_only.js`, for {@link measureCold}.
 */
export async function buildSdkFloor(dir: string): Promise<{ file: string; bytes: number }> {
  const { build } = await import('esbuild');
  const mod = (await import(pathToFileURL(path.join(__dirname, '..', 'lib', 'bundle-options.mjs')).href)) as BundleOptionsModule;
  const file = 'cos_sdk_only.js';
  await build({ ...mod.bundleOptions(esbuildTarget(undefined)), entryPoints: [path.join(__dirname, 'sdk-floor-entry.ts')], outfile: path.join(dir, file) });
  return { file, bytes: fs.statSync(path.join(dir, file)).size };
}
