// Bundles each function into dist/<function>/index.js: one self-contained CommonJS file exporting
// main_handler, so the deploy package needs no node_modules. Side files are bundled apart and
// required only when needed (SIDE_FILES below), so the functions' cold start never compiles them.
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { copyFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'fs';
import { join } from 'path';
import { bundleOptions, checkTslib } from './lib/bundle-options.mjs';

const root = new URL('..', import.meta.url).pathname;
// The Node version follows SCF_RUNTIME (set from .env by `sls deploy` and by `npm run deploy:api`);
// the table lives in scripts/lib/runtime.ts so the deploy paths and the build share it.
const { esbuildTarget, parseRuntime } = await tsImport('./lib/runtime.ts', import.meta.url);
const runtime = parseRuntime(process.env.SCF_RUNTIME);
const target = esbuildTarget(runtime);
const functions = readdirSync(join(root, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const common = bundleOptions(target);
const sizeOf = (result) => Object.values(result.metafile.outputs)[0].bytes;

const report = [];
for (const fn of functions) {
  const outfile = join(root, 'dist', fn, 'index.js');
  const result = await build({ ...common, entryPoints: [join(root, 'functions', fn, 'index.ts')], outfile });
  mkdirSync(join(root, 'dist', 'meta'), { recursive: true });
  writeFileSync(join(root, 'dist', 'meta', `${fn}.json`), JSON.stringify(result.metafile));
  checkTslib(result.metafile);
  report.push(`${fn}: ${(sizeOf(result) / 1024).toFixed(0)} KB`);
}
// Side files, next to every function bundle and required at run time only when needed:
//   audio_convert.js  the WAV converter (shared/audio/load-converter.ts), for a file to convert;
//   cos_request.js    the real cos-request, for a COS request through a proxy (scripts/shims/cos-transport.cjs);
//   ccc_client.js     the CCC SDK's client, at an instance's first CCC call (shared/sdk/ccc.ts);
//   report_render.js  the daily report's figures, page and messages, once per quota day (shared/runtime/load-report.ts).
const SIDE_FILES = [
  { file: 'audio_convert.js', entry: join(root, 'shared', 'audio', 'convert.ts') },
  { file: 'cos_request.js', entry: join(root, 'node_modules', 'cos-request', 'index.js') },
  { file: 'ccc_client.js', entry: join(root, 'node_modules', 'tencentcloud-sdk-nodejs', 'tencentcloud', 'services', 'ccc', 'v20200210', 'ccc_client.js') },
  { file: 'report_render.js', entry: join(root, 'shared', 'core', 'report.ts') },
];
for (const side of SIDE_FILES) {
  const out = join(root, 'dist', 'side', side.file);
  const result = await build({ ...common, entryPoints: [side.entry], outfile: out });
  checkTslib(result.metafile);
  report.push(`${side.file}: ${(sizeOf(result) / 1024).toFixed(0)} KB`);
  for (const fn of functions) copyFileSync(out, join(root, 'dist', fn, side.file));
}
// The deploy package: only the bundles, flat, one file per function (handler `<file>.main_handler`),
// and the side files they share.
const pkg = join(root, 'dist', 'package');
rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg, { recursive: true });
for (const fn of functions) copyFileSync(join(root, 'dist', fn, 'index.js'), join(pkg, `${fn.replace(/-/g, '_')}.js`));
for (const side of SIDE_FILES) copyFileSync(join(root, 'dist', 'side', side.file), join(pkg, side.file));
console.log(`built ${report.join(', ')} for ${runtime} (${target}); deploy package in dist/package/`);
