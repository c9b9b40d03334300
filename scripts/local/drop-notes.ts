/**
 * What the drop folder's notes say about objects, for `npm run status`: registrations found cut
 * short (`<name>.cut-short.txt` in done/) and failures that are the rest of a paused copy (a
 * warning in `<name>.error.txt` in failed/). The bucket's metadata cannot say either: both are
 * things only the drop folder saw; and which file in failed/ stands for a failed object.
 */
import * as fs from 'fs';
import * as path from 'path';
import { filesUnder } from './drop-folder';
import { CUT_SHORT_SUFFIX, ERROR_SUFFIX, RESERVED_DIRS } from './drop-rules';
import type { CutShort, FailedNote } from './file-state';
import { failedAtOf, readCutShortNote, readFailureNote, warnsPausedRest } from './fixes';
import { BUCKET } from './settings';

/**
 * The newest note per object of those under `folder` of the drop folder whose names end with
 * `suffix`, as `read` makes of its text (undefined: not one of ours): by the time the note says
 * (`atMs`) where it says one, else by when it was written; ties by when it was written. A folder
 * or note that cannot be read gives none.
 */
function newestNotes<T>(dropDir: string, folder: string, suffix: string, read: (text: string, rel: string) => { key: string; value: T; atMs?: number } | undefined): Map<string, T> {
  const out = new Map<string, { note: T; atMs: number; mtimeMs: number }>();
  for (const rel of filesUnder(path.join(dropDir, folder), dropDir)) {
    if (!rel.endsWith(suffix)) continue;
    const full = path.join(dropDir, ...rel.split('/'));
    try {
      const note = read(fs.readFileSync(full, 'utf8'), rel);
      if (!note) continue;
      const mtimeMs = fs.statSync(full).mtimeMs;
      const atMs = note.atMs ?? mtimeMs;
      const best = out.get(note.key);
      if (!best || atMs > best.atMs || (atMs === best.atMs && mtimeMs >= best.mtimeMs)) out.set(note.key, { note: note.value, atMs, mtimeMs });
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
 * The latest failure note in failed/ of each object (a later failure's note takes its place): the
 * note, the failed copy beside it (when it is still there under the note's name), and whether it
 * warns that the file is the rest of a paused copy. Status reads it to name the file an operator
 * sees (a trial found only keys), and to keep the warning; a registration since leaves the object
 * not failed, so status then has nothing to say with it.
 */
export function failureNotes(dropDir: string): Map<string, FailedNote> {
  return newestNotes(dropDir, RESERVED_DIRS.failed, ERROR_SUFFIX, (text, rel) => {
    const note = readFailureNote(text, BUCKET);
    const copy = rel.slice(0, -ERROR_SUFFIX.length);
    const there = fs.existsSync(path.join(dropDir, ...copy.split('/')));
    return note && { key: note.key, value: { note: rel, ...(there ? { copy } : {}), pausedRest: warnsPausedRest(text) }, atMs: failedAtOf(text, BUCKET) };
  });
}

/**
 * Files held in the drop folder because one of their name waits in `waiting/` (taken once it is
 * done), as paths relative to the drop folder. They are not objects yet, so without this `status`
 * did not name them at all (a trial took such a file for lost).
 */
export function heldFiles(dropDir: string): string[] {
  const waiting = path.join(dropDir, RESERVED_DIRS.waiting);
  return filesUnder(waiting, waiting)
    .filter((rel) => {
      try {
        return fs.statSync(path.join(dropDir, ...rel.split('/'))).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}
