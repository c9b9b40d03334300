/**
 * The layering the README's architecture section describes, kept true by a test: product code
 * (functions/, shared/, scripts/) never imports test/; inside shared/, the pure core imports only
 * itself, each folder only the layers below it, and there are no import circles.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(rel);
    return /\.(ts|cts|mts|cjs|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Relative imports and requires of a file, resolved to paths from the repository root. */
function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](\.[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => path.normalize(path.join(path.dirname(file), s)));
}

test('no product code imports test/', () => {
  const offenders = ['functions', 'shared', 'scripts'].flatMap(sources).flatMap((f) => imports(f).filter((i) => i === 'test' || i.startsWith(`test${path.sep}`)).map((i) => `${f} → ${i}`));
  expect(offenders).toEqual([]);
});

describe('shared/', () => {
  const files = sources('shared');
  const graph = new Map(files.map((f) => [f.replace(/\.ts$/, ''), imports(f).filter((i) => i.startsWith(`shared${path.sep}`))]));

  test('the pure core imports only the core', () => {
    const out = [...graph].filter(([f]) => f.startsWith(path.join('shared', 'core'))).flatMap(([f, deps]) => deps.filter((d) => !d.startsWith(path.join('shared', 'core'))).map((d) => `${f} → ${d}`));
    expect(out).toEqual([]);
  });

  // The folders are the layers, lowest first: each imports only the folders before it (and
  // itself), so no two folders lean on each other. (Not `ls shared`'s order: the README's tree
  // lists them in this one.)
  const LAYERS = ['core', 'runtime', 'store', 'sdk', 'audio', 'workflow', 'wiring'];
  test(`each folder imports only the layers below it: ${LAYERS.join(' < ')}`, () => {
    const layerOf = (f: string) => f.split(path.sep)[1];
    expect(fs.readdirSync(path.join(ROOT, 'shared')).sort()).toEqual([...LAYERS].sort());
    const out = [...graph].flatMap(([f, deps]) => deps.filter((d) => LAYERS.indexOf(layerOf(d)) > LAYERS.indexOf(layerOf(f))).map((d) => `${f} → ${d}`));
    expect(out).toEqual([]);
  });
});

/** Every import circle in `graph` (file → the files it imports), each as `a → b → a`. */
function circlesIn(graph: Map<string, string[]>): string[] {
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, trail: string[]): void => {
    state.set(f, 'open');
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') circles.push([...trail.slice(trail.indexOf(d)), d].join(' → '));
      else if (!state.has(d)) visit(d, [...trail, d]);
    }
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, [f]);
  return circles;
}

test('no import circles in product code (functions/, shared/, scripts/; type-only imports count too)', () => {
  const files = ['functions', 'shared', 'scripts'].flatMap(sources);
  const graph = new Map(files.map((f) => [f.replace(/\.ts$/, ''), imports(f)]));
  expect(circlesIn(graph)).toEqual([]);
});
