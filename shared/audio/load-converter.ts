/**
 * Loads the WAV converter (convert.ts) only when a file needs converting, so the upload function's
 * cold start and bundle do not carry it.
 *
 * scripts/build.mjs bundles convert.ts on its own as `audio_convert.js` and puts it next to every
 * function bundle (and in the deploy package). Inside a bundle this module requires that file from
 * the bundle's own directory; run from TypeScript (jest, tsx) it requires ./convert directly.
 * Both paths are computed at run time on purpose: esbuild inlines a `require('./convert')` whose
 * argument is a literal, and would put the converter back into the main bundle.
 */
import * as path from 'path';
import type * as ConvertModule from './convert';

/** The converter's API, as both the bundled file and the TypeScript module export it. */
export type Converter = Pick<typeof ConvertModule, 'convertWav' | 'CONVERTER_ID' | 'TELEPHONY_FORMAT'>;

/** File name of the bundled converter, next to the function bundles (kept in step with scripts/build.mjs). */
export const CONVERTER_FILE = 'audio_convert.js';

let loaded: Converter | undefined;

/**
 * The converter, loaded on first use and cached. Throws if the bundled file is missing (a broken
 * deploy package), naming the path it looked for.
 */
export function loadConverter(): Converter {
  if (loaded) return loaded;
  // This file is `…/load-converter.ts` when run from source, the bundle's own file once bundled.
  const fromSource = /\.ts$/.test(__filename);
  const file = path.join(__dirname, fromSource ? 'convert' : CONVERTER_FILE);
  let mod: unknown;
  try {
    mod = requireAt(file);
  } catch (e) {
    throw new Error(`the audio converter could not be loaded from ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isConverter(mod)) throw new Error(`${file} is not the audio converter (it does not export convertWav)`);
  loaded = mod;
  return mod;
}

// A plain call with a variable argument: esbuild leaves it as a run-time require.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireAt = (file: string): unknown => require(file);

function isConverter(mod: unknown): mod is Converter {
  return typeof mod === 'object' && mod !== null && typeof (mod as { convertWav?: unknown }).convertWav === 'function';
}
