// Bundles each function into dist/<function>/index.js: one self-contained CommonJS file exporting
// main_handler, so the deploy package needs no node_modules.
import { build } from 'esbuild';
import { readdirSync, writeFileSync, mkdirSync } from 'fs';
import { join } from 'path';

const root = new URL('..', import.meta.url).pathname;
const functions = readdirSync(join(root, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const report = [];
for (const fn of functions) {
  const outfile = join(root, 'dist', fn, 'index.js');
  const result = await build({
    entryPoints: [join(root, 'functions', fn, 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node16',
    minify: true,
    keepNames: false,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  mkdirSync(join(root, 'dist', 'meta'), { recursive: true });
  writeFileSync(join(root, 'dist', 'meta', `${fn}.json`), JSON.stringify(result.metafile));
  const bytes = Object.values(result.metafile.outputs)[0].bytes;
  report.push(`${fn}: ${(bytes / 1024).toFixed(0)} KB`);
}
console.log(`built ${report.join(', ')}`);
