/**
 * The drop folder's failed files, kept in the state folder (`<data>/failed-copies.json`) for the
 * next start: a file on the list that is missing from `failed/` then was removed while the stack
 * was stopped, which the files and notes left in `failed/` cannot tell (see DropFolder's
 * noteRemovedWhileStopped).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FailedCopiesRecord, FailedCopy } from './drop-folder';

/** Where a state folder keeps the list. */
export const failedRecordFile = (dataDir: string): string => path.join(dataDir, 'failed-copies.json');

/** What the file holds: the drop folder and prefix the list is of, and the list. */
interface RecordFile {
  dropDir: string;
  prefix: string;
  copies: FailedCopy[];
}

const isCopy = (c: unknown): c is FailedCopy => {
  const v = c as Partial<FailedCopy> | null;
  return typeof v?.file === 'string' && typeof v.key === 'string' && typeof v.md5 === 'string' && typeof v.size === 'number';
};

/**
 * The list for `dropDir` and `prefix` in `dataDir`. A list written for another drop folder or
 * prefix, or one that cannot be read, reads as empty: nothing is then taken as removed.
 */
export function failedCopiesRecord(dataDir: string, dropDir: string, prefix: string): FailedCopiesRecord {
  const file = failedRecordFile(dataDir);
  const dir = path.resolve(dropDir);
  return {
    read() {
      try {
        const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RecordFile>;
        if (r.dropDir !== dir || r.prefix !== prefix || !Array.isArray(r.copies)) return [];
        return r.copies.filter(isCopy);
      } catch {
        return [];
      }
    },
    write(copies) {
      const body: RecordFile = { dropDir: dir, prefix, copies };
      // Write-then-rename: a stack killed mid-write leaves the old list or the new, never half.
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(body));
      fs.renameSync(`${file}.tmp`, file);
    },
  };
}
