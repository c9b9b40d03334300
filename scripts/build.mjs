// Bundles each function into dist/<function>/index.js: one self-contained CommonJS file exporting
// main_handler, so the deploy package needs no node_modules. The WAV converter is bundled apart, as
// audio_convert.js next to each bundle, and required only when a file needs converting (see
// shared/audio/load-converter.ts), so the functions' cold start never loads it.
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
const CONVERTER = 'audio_convert.js'; // the name load-converter.ts requires
const converter = join(root, 'dist', 'audio-convert', CONVERTER);
const conv = await build({ ...common, entryPoints: [join(root, 'shared', 'audio', 'convert.ts')], outfile: converter });
report.push(`${CONVERTER}: ${(sizeOf(conv) / 1024).toFixed(0)} KB`);
for (const fn of functions) copyFileSync(converter, join(root, 'dist', fn, CONVERTER));
// The deploy package: only the bundles, flat, one file per function (handler `<file>.main_handler`),
// and the converter they share.
const pkg = join(root, 'dist', 'package');
rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg, { recursive: true });
for (const fn of functions) copyFileSync(join(root, 'dist', fn, 'index.js'), join(pkg, `${fn.replace(/-/g, '_')}.js`));
copyFileSync(converter, join(pkg, CONVERTER));
console.log(`built ${report.join(', ')} for ${runtime} (${target}); deploy package in dist/package/`);
