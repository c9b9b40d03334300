/**
 * Well-formed text: a JavaScript string may hold lone UTF-16 surrogates (a JSON `"\ud800"` parses
 * to one), which have no UTF-8 form. Keys holding one are refused; other text is repaired.
 */

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one not after a high one. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** `text` with each lone surrogate replaced by U+FFFD, so any encoder takes it (Node 16 has no `toWellFormed`). */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\ufffd');
}

/** `text` percent-decoded, or undefined when it is not valid percent-encoded UTF-8 (callers choose the fallback). */
export function tryDecodeURIComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
