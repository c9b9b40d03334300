/**
 * What the drop folder's notes say about objects, for `npm run status`: registrations found cut
 * short (`<name>.cut-short.txt` in done/) and failures that are the rest of a paused copy (a
 * warning in `<name>.error.txt` in failed/). The bucket's metadata cannot say either: both are
 * things only the drop folder saw.
 */
import * as fs from 'fs';
import * as path from 'path';
import { filesUnder } from './drop-folder';
import { CUT_SHORT_SUFFIX, ERROR_SUFFIX, RESERVED_DIRS } from './drop-rules';
import type { CutShort, PausedRest } from './file-state';
import { readCutShortNote, readFailureNote, warnsPausedRest } from './fixes';
import { BUCKET } from './settings';

/**
 * The newest note (by time written) per object of those under `folder` of the drop folder whose
 * names end with `suffix`, as `read` makes of its text (undefined: not one of ours). A folder or
 * note that cannot be read gives none.
 */
function newestNotes<T>(dropDir: string, folder: string, suffix: string, read: (text: string, rel: string) => { key: string; value: T } | undefined): Map<string, T> {
  const out = new Map<string, { note: T; mtimeMs: number }>();
  for (const rel of filesUnder(path.join(dropDir, folder), dropDir)) {
    if (!rel.endsWith(suffix)) continue;
    const full = path.join(dropDir, ...rel.split('/'));
    try {
      const note = read(fs.readFileSync(full, 'utf8'), rel);
      const mtimeMs = fs.statSync(full).mtimeMs;
      if (note && mtimeMs >= (out.get(note.key)?.mtimeMs ?? 0)) out.set(note.key, { note: note.value, mtimeMs });
    } catch {
      // Unreadable: as if absent.
    }
  }
  return new Map([...out].map(([key, { note }]) => [key, note]));
}

/** The notes on registrations cut short (`<name>.cut-short.txt` in done/), by key. */
export function cutShortNotes(dropDir: string): Map<string, CutShort> {
  return newestNotes(dropDir, RESERVED_DIRS.done, CUT_SHORT_SUFFIX, (text, rel) => {
    const note = readCutShortNote(text, BUCKET);
    return note && { key: note.key, value: { fileId: note.fileId, copy: rel.slice(0, -CUT_SHORT_SUFFIX.length) } };
  });
}

/**
 * The objects whose latest failure note in failed/ warns that the file is the rest of a paused copy
 * (a later note without the warning, for a later failure, ends it; so does any later registration,
 * which leaves the object not failed).
 */
export function pausedRestNotes(dropDir: string): Map<string, PausedRest> {
  const newest = newestNotes(dropDir, RESERVED_DIRS.failed, ERROR_SUFFIX, (text, rel) => {
    const note = readFailureNote(text, BUCKET);
    return note && { key: note.key, value: { note: rel, rest: warnsPausedRest(text) } };
  });
  return new Map([...newest].filter(([, n]) => n.rest).map(([key, n]) => [key, { note: n.note }]));
}
