/**
 * Code that scripts/build.mjs bundles apart, as a side file next to the function bundles
 * (SIDE_FILES there), and that a function requires only on the path that needs it, so a cold start
 * never compiles it. Run from the sources (jest, tsx) there is no bundle: the module or package
 * `fromSource` names is required instead.
 */
import { join } from 'path';

/**
 * Requires side file `file` (or, from the sources, `fromSource`); throws an Error that says what
 * could not be loaded and from where (a deploy package missing the file).
 */
export function loadSideFile(file: string, fromSource: string, what: string): { module: unknown; from: string } {
  // This module is `…/side-file.ts` from the sources; once bundled, `__filename` is the bundle itself.
  const from = /\.ts$/.test(__filename) ? fromSource : join(__dirname, file);
  try {
    return { module: requireAt(from), from };
  } catch (e) {
    throw new Error(`${what} could not be loaded from ${from}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * A loader for side file `file` that requires it on first call and caches it: `isIt` checks the
 * module is what it should be (else an Error names the path and the export `needs` it lacks).
 */
export function sideFileLoader<T>(file: string, fromSource: string, what: string, isIt: (mod: unknown) => mod is T, needs: string): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded) return loaded;
    const { module: mod, from } = loadSideFile(file, fromSource, what);
    if (!isIt(mod)) throw new Error(`${from} is not ${what} (it does not export ${needs})`);
    loaded = mod;
    return mod;
  };
}

// A plain call with a variable argument: esbuild leaves it as a run-time require instead of
// bundling its target back into the function bundle.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireAt = (id: string): unknown => require(id);
