/** `npm run status`: every object under the prefix with its state, then what needs action. */
// First: this command signs its requests on the stack's clock.
import { useStackClock } from './clock';
import { runCommand } from './cli';
import { findStack, cosClient } from './client';
import * as fs from 'fs';
import * as path from 'path';
import { CUT_SHORT_SUFFIX, RESERVED_DIRS } from './drop-rules';
import { readFileState, withRefusal, type CutShort } from './file-state';
import { filesUnder } from './drop-folder';
import { readCutShortNote } from './fixes';
import { parseClientOptions, STATUS_OPTIONS, usage } from './options';
import { BUCKET, REGION } from './settings';
import { renderStatus, statusJson, type StatusRow } from './status-view';
import { DEFAULT_QUOTA_UTC_OFFSET, parseUtcOffset } from '../../shared/core/config';
import { userMetadataFromHeaders } from '../../shared/core/metadata';

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'status');
  if (o === 'help') {
    process.stdout.write(usage('npm run status', STATUS_OPTIONS));
    return;
  }
  const stack = await findStack(o.dataDir);
  // The local COS checks signatures against the stack's clock, which next-day may have moved.
  useStackClock(o.dataDir);
  const offsetMinutes = parseUtcOffset('quotaOffset', stack.quotaOffset ?? DEFAULT_QUOTA_UTC_OFFSET);
  const cos = cosClient(stack.cosPort);
  const cutShort = cutShortNotes(stack.dropDir);
  const rows: StatusRow[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await cos.getBucket({ Bucket: BUCKET, Region: REGION, Prefix: stack.prefix, Marker: marker, MaxKeys: 1000 });
    for (const obj of page.Contents ?? []) {
      const head = await cos.headObject({ Bucket: BUCKET, Region: REGION, Key: obj.Key });
      const cut = cutShort.get(obj.Key);
      rows.push({ key: obj.Key, size: Number(obj.Size), state: withRefusal(obj.Key, readFileState(userMetadataFromHeaders(head.headers as Record<string, string>), obj.Key), stack.prefix), ...(cut ? { cutShort: cut } : {}) });
    }
    if (page.IsTruncated !== 'true' || !page.Contents?.length) break;
    marker = page.NextMarker || page.Contents[page.Contents.length - 1].Key;
  }
  if (o.json) process.stdout.write(`${JSON.stringify(statusJson(rows, stack.prefix, offsetMinutes, stack.quotaOffset))}\n`);
  else process.stdout.write(`${renderStatus(rows, stack.prefix, BUCKET, offsetMinutes).join('\n')}\n`);
}

/**
 * The drop folder's notes on registrations cut short (`<name>.cut-short.txt` anywhere in done/), by key; for
 * several of one key, the newest. A folder that cannot be read gives none.
 */
function cutShortNotes(dropDir: string): Map<string, CutShort> {
  const out = new Map<string, CutShort & { mtimeMs: number }>();
  for (const rel of filesUnder(path.join(dropDir, RESERVED_DIRS.done), dropDir)) {
    if (!rel.endsWith(CUT_SHORT_SUFFIX)) continue;
    const full = path.join(dropDir, ...rel.split('/'));
    try {
      const note = readCutShortNote(fs.readFileSync(full, 'utf8'), BUCKET);
      const mtimeMs = fs.statSync(full).mtimeMs;
      if (note && mtimeMs >= (out.get(note.key)?.mtimeMs ?? 0)) out.set(note.key, { fileId: note.fileId, copy: rel.slice(0, -CUT_SHORT_SUFFIX.length), mtimeMs });
    } catch {
      // Unreadable: as if absent.
    }
  }
  return new Map([...out].map(([key, { fileId, copy }]) => [key, { fileId, copy }]));
}

runCommand('npm run status', main);
