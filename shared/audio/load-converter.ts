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
import { join } from 'path';
import type * as ConvertModule from './convert';
import { sideFileLoader } from '../runtime/side-file';

/** The converter's API, as both the bundled file and the TypeScript module export it. */
export type Converter = Pick<typeof ConvertModule, 'convertWav' | 'CONVERTER_ID' | 'TELEPHONY_FORMAT'>;

/** File name of the bundled converter, next to the function bundles (kept in step with scripts/build.mjs). */
export const CONVERTER_FILE = 'audio_convert.js';

/**
 * The converter, loaded on first use and cached. Throws if the bundled file is missing (a broken
 * deploy package), naming the path it looked for.
 */
export const loadConverter: () => Converter = sideFileLoader(CONVERTER_FILE, join(__dirname, 'convert'), 'the audio converter', isConverter, 'convertWav');

function isConverter(mod: unknown): mod is Converter {
  return typeof mod === 'object' && mod !== null && typeof (mod as { convertWav?: unknown }).convertWav === 'function';
}
