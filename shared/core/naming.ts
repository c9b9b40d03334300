/** The `CustomFileName` CCC shows for a file: the base name, or the uploader's `ivr-name`. */
import { IvrError } from './errors';
import { tryDecodeURIComponent } from './text';

/** Longest display name accepted, counted in Unicode code points (not UTF-16 units or bytes). */
export const MAX_CUSTOM_NAME_CHARS = 64;

/** The key's last path segment without its extension; a name that only starts with a dot keeps it. */
export function baseName(key: string): string {
  const last = key.slice(key.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(0, dot) : last;
}

// What the operator can do: a file name is fixed by renaming it or naming it in the header; the
// header by setting it right.
const FIX_FILE_NAME = 'rename the file (or, uploading to COS yourself, set x-cos-meta-ivr-name to the URL-encoded name CCC should show)';
const FIX_HEADER = 'upload it again with x-cos-meta-ivr-name set right (URL-encoded UTF-8)';

function validName(name: string, source: 'the file name without its extension' | 'x-cos-meta-ivr-name'): string | IvrError {
  const fix = source === 'x-cos-meta-ivr-name' ? FIX_HEADER : FIX_FILE_NAME;
  const trimmed = name.trim();
  if (trimmed === '') return new IvrError('IvrNameInvalid', `${source} is ${name === '' ? 'empty' : 'only spaces'}: ${fix}`);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(trimmed)) return new IvrError('IvrNameInvalid', `${source} contains control characters or line breaks: ${fix}`);
  const chars = [...trimmed].length;
  if (chars > MAX_CUSTOM_NAME_CHARS) return new IvrError('IvrNameInvalid', `${source} has ${chars} characters, more than the ${MAX_CUSTOM_NAME_CHARS} a display name may have: ${fix}`);
  return trimmed;
}

/**
 * The name CCC shows for the file (`CustomFileName`): the one the uploader asked for, else the
 * object's file name without its extension; an IvrError saying how to fix it when it cannot be one.
 * @param requested raw value of `x-cos-meta-ivr-name` (URL-encoded UTF-8), if the uploader set one
 */
export function customFileName(key: string, requested: string | undefined): string | IvrError {
  if (requested === undefined) return validName(baseName(key), 'the file name without its extension');
  // Header values arrive as bytes read one per character: raw UTF-8 shows up as Latin-1 text.
  if (/[^\x20-\x7e]/.test(requested)) return new IvrError('IvrNameInvalid', `x-cos-meta-ivr-name is not URL-encoded (it holds raw non-ASCII bytes): ${FIX_HEADER}`);
  const decoded = tryDecodeURIComponent(requested);
  if (decoded === undefined) return new IvrError('IvrNameInvalid', `x-cos-meta-ivr-name is not valid URL-encoded UTF-8: ${FIX_HEADER}`);
  if (decoded.includes('\ufffd')) return new IvrError('IvrNameInvalid', `x-cos-meta-ivr-name is not valid UTF-8: ${FIX_HEADER}`);
  return validName(decoded, 'x-cos-meta-ivr-name');
}

/**
 * Display names listed for two or more different things (`identity`: a FileId for CCC's list, a
 * key for the files in a bucket), each with its entries in the order given. CCC allows such names,
 * but its IVR editor lists prompts by name, so an operator choosing one there cannot tell them
 * apart: the report and the local stack point them out. Names are compared as they look (Unicode
 * NFC: `Menü` typed on Windows and saved on an older Mac is one name to the eye); each group is
 * keyed by its first entry's name.
 */
export function sharedNames<T extends { name: string }>(entries: Iterable<T>, identity: (entry: T) => string | number): Map<string, T[]> {
  const byLook = new Map<string, T[]>();
  for (const e of entries) {
    const look = e.name.normalize('NFC');
    byLook.set(look, [...(byLook.get(look) ?? []), e]);
  }
  const shared = new Map<string, T[]>();
  for (const group of byLook.values()) if (new Set(group.map(identity)).size > 1) shared.set(group[0].name, group);
  return shared;
}
