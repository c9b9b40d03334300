/** The function bundles the stack runs: rebuilt when a source is newer, so `npm start` is quick. */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { StartupError } from './cli';
import { bundlePath, ROOT } from './settings';

/** Function names: the folders of `functions/`. */
export function functionNames(root = ROOT): string[] {
  return fs
    .readdirSync(path.join(root, 'functions'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}

function newestMtime(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((n) => newestMtime(path.join(p, n))));
}

/** True when a bundle is missing or older than anything it is built from. */
export function bundlesStale(root = ROOT): boolean {
  const bundles = functionNames(root).map((fn) => {
    try {
      return fs.statSync(bundlePath(fn)).mtimeMs;
    } catch {
      return 0;
    }
  });
  const sources = ['functions', 'shared', 'scripts/build.mjs', 'scripts/lib/bundle-options.mjs', 'scripts/shims', 'package-lock.json'].map((p) => newestMtime(path.join(root, p)));
  return Math.min(...bundles) < Math.max(...sources);
}

/** Runs `npm run build`'s script quietly; its output is shown only if it fails. */
export function buildBundles(root = ROOT): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const first = stderr.split('\n').find((l) => l.trim() !== '') ?? err.message;
      reject(new StartupError(`building the functions failed (run npm run build to see why): ${first.trim()}`));
    });
  });
}
