/**
 * What `npm run status` shows, as pure functions: every object with its state, then what needs
 * an operator's attention. More sections can be added by appending to {@link renderStatus}.
 */
import type { ReviewState } from '../../shared/core/metadata';
import { sharedNames } from '../../shared/core/naming';
import { goesOutByItself, needsAction, type ActionItem, type CutShort, type FailedNote, type FileState } from './file-state';
import { distinctKeys, printable, renderTable } from './table';
import { formatDateTime, zoneName } from './time';

/** One object and what its metadata says. */
export interface StatusRow {
  key: string;
  size: number;
  state: FileState;
  /** The drop folder's note that this object's registration was cut short, if it left one. */
  cutShort?: CutShort;
  /** The drop folder's latest note on this object's failure, if any. */
  failedNote?: FailedNote;
  /** A deferred file's queue time, from its `deferred/` entry: where it stands in line. */
  queuedAt?: number;
}

/** The JSON form (`npm run status -- --json`). */
export interface StatusJson {
  prefix: string;
  utcOffset: string;
  objects: Array<{ key: string; size: number; status?: string; fileId?: number; review?: string; errorCode?: string; errorMessage?: string; at?: string }>;
  needsAction: ActionItem[];
  /** Display names different registered files share in CCC (see {@link namesInBucketTwice}). */
  sameName: Array<{ name: string; files: Array<{ key: string; fileId: number }> }>;
  /** Files held in the drop folder behind one of their name in waiting/ (paths in the drop folder): not objects yet. */
  held: string[];
  /** What the local CCC holds, when asked (see {@link CccHoldings}). */
  ccc?: CccHoldings;
}

/** A registration the local CCC lists that no object in the bucket shows. */
export interface CccNotShown {
  fileId: number;
  /** Its display name in CCC. */
  name: string;
  /** Its review state in CCC. */
  review?: ReviewState;
  /** What the stack's ledger (its FileId record) and the bucket say it is. */
  what: NotShownWhy;
}

/**
 * What a registration no object shows is: `replaced`, an upload of `key` the object no longer holds
 * (dropped again with new content); `gone`, registered for an object no longer in the bucket;
 * `unshown`, registered for the upload the object holds, which shows another FileId or none (its
 * status still on its way, or that upload registered twice); `unknown`, no FileId record in the
 * ledger (registered elsewhere, or by a state folder since cleared; `sameNameAs`: a bucket file of
 * that display name, which might then have been registered twice).
 */
export type NotShownWhy = { kind: 'replaced' | 'gone' | 'unshown'; key: string } | { kind: 'unknown'; sameNameAs?: string };

/**
 * What the local CCC holds, as its console would list it: how many registrations, those no object
 * shows (a registration made twice for one file would be among them), and the FileIds objects show
 * that CCC does not hold (`missing`: its state reset). `unavailable`: why CCC could not be asked.
 */
export type CccHoldings = { total: number; notShown: CccNotShown[]; missing: number[] } | { unavailable: string };

/** Error messages are cut in the table; the needs-action section and `--json` have them whole. */
const ERROR_WIDTH = 60;

/**
 * Keys are cut in their middle past this width (a key may be ~1,000 bytes, which made every row of
 * the table as wide); the folder and the name stay readable, and `--json` has them whole.
 */
export const KEY_WIDTH = 80;

/** What the status shows besides the objects, when known. */
export interface StatusExtras {
  /** The quota a day (the deferred files' line: when each likely goes). */
  quota?: number;
  /** Files held in the drop folder (see {@link StatusJson.held}). */
  held?: string[];
  /** Now (ms): a file deferred today may still go today if the day has room again. */
  nowMs?: number;
  /** What the local CCC holds; absent when it was not asked. */
  ccc?: CccHoldings;
}

/** The machine-readable status. */
export function statusJson(rows: StatusRow[], prefix: string, offsetMinutes: number, utcOffset: string, { quota, held = [], nowMs, ccc }: StatusExtras = {}): StatusJson {
  return {
    prefix,
    utcOffset,
    objects: rows.map(({ key, size, state: s }) => ({
      key,
      size,
      status: s.status,
      fileId: s.fileId,
      review: s.review,
      errorCode: s.errorCode,
      errorMessage: s.errorMessage,
      converted: s.converted,
      at: s.atMs !== undefined ? formatDateTime(s.atMs, offsetMinutes) : undefined,
    })),
    needsAction: needsAction(rows, offsetMinutes, quota, nowMs),
    sameName: namesInBucketTwice(rows),
    held,
    ...(ccc ? { ccc } : {}),
  };
}

/** The section on what the local CCC holds (see {@link CccHoldings}). */
function cccLines(ccc: CccHoldings | undefined): string[] {
  if (!ccc) return [];
  if ('unavailable' in ccc) return ['', `The local CCC could not be asked what it holds (${ccc.unavailable}).`];
  const n = (count: number) => `${count} registration${count === 1 ? '' : 's'}`;
  const missing = ccc.missing.length === 0 ? [] : [`The objects above show ${ccc.missing.length === 1 ? 'a FileId' : `${ccc.missing.length} FileIds`} the local CCC does not hold (${ccc.missing.join(', ')}): its state was reset or removed since.`];
  if (ccc.notShown.length === 0) return ccc.total === 0 && missing.length === 0 ? [] : ['', ccc.total === 0 ? 'The local CCC holds no registrations.' : `The local CCC holds ${n(ccc.total)}: ${ccc.missing.length ? 'each one a FileId' : 'the FileIds'} the objects above show, each once.`, ...missing];
  // Registrations of no file of this stack (`ccc quota` makes dozens) in one line, after the ones that
  // are: a trial found its own dropped-again file's line above 41 of them.
  const foreign = ccc.notShown.filter((r) => r.what.kind === 'unknown' && !r.what.sameNameAs);
  const listed = ccc.notShown.filter((r) => !foreign.includes(r));
  const table = renderTable([{ header: '' }, { header: '' }, { header: '' }, { header: '' }], listed.map((r) => [`FileId ${r.fileId}`, r.name, r.review ?? '-', notShownText(r.what)])).slice(1);
  const ids = foreign.map((r) => r.fileId);
  const shownIds = `FileId ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … (${ids.length - 5} more)` : ''}`;
  const others = foreign.length === 0 ? [] : [`  ${listed.length > 0 ? 'and ' : ''}${foreign.length} ${notShownText({ kind: 'unknown' })}: ${shownIds}`];
  return ['', `The local CCC holds ${n(ccc.total)}; ${ccc.notShown.length} of them no object above shows:`, ...table.map((l) => `  ${l}`), ...others, ...missing];
}

function notShownText(w: NotShownWhy): string {
  switch (w.kind) {
    case 'replaced':
      return `an upload of ${w.key} the object no longer holds (CCC has no replace: a file dropped again leaves its other registrations listed)`;
    case 'gone':
      return `registered for ${w.key}, which is no longer in the bucket`;
    case 'unshown':
      return `registered for ${w.key} as it is now, whose object shows another FileId or none: its status may still be on its way; if it stays so, that upload was registered twice`;
    case 'unknown':
      return w.sameNameAs
        ? `no record of it in the stack's ledger, under the name of ${w.sameNameAs}: registered outside the stack (\`npm run local -- ccc quota\`) or under a state folder since cleared; else ${w.sameNameAs} was registered twice`
        : 'not registered by this stack (`npm run local -- ccc quota`, or a state folder since cleared)';
  }
}

/** The files held in the drop folder behind one of their name in waiting/ (not objects yet). */
function heldLines(held: string[]): string[] {
  if (held.length === 0) return [];
  const n = held.length === 1 ? 'this file waits' : `these ${held.length} files wait`;
  return ['', `Held in the drop folder (not sent yet): ${n} until the file of the same name in waiting/ is done, then ${held.length === 1 ? 'it is' : 'each is'} sent as a new file:`, ...held.map((rel) => `  ${printable(rel)}`)];
}

/**
 * Names two or more registered files in the bucket share in CCC, from the objects' metadata (the
 * report asks CCC itself, so it also sees registrations that no object shows any more).
 */
export function namesInBucketTwice(rows: StatusRow[]): StatusJson['sameName'] {
  const registered = rows.flatMap(({ key, state: s }) => (s.status === 'uploaded' && s.fileId !== undefined && s.customName !== undefined ? [{ name: s.customName, key, fileId: s.fileId }] : []));
  return [...sharedNames(registered, (r) => r.key)].map(([name, files]) => ({ name, files: files.map(({ key, fileId }) => ({ key, fileId })) }));
}

/**
 * The heading of the needs-action list, with how many of it go out by themselves (deferred,
 * retrying): after a burst over the quota they are most of it, and a bare count reads as that many
 * files to fix. With nothing to fix, it does not say "needs action" at all.
 */
function actionHeading(actions: ReturnType<typeof needsAction>): string {
  const auto = actions.filter((a) => goesOutByItself(a.kind)).length;
  const fix = actions.length - auto;
  const themselves = `${auto} deferred or retrying ${auto === 1 ? 'goes out by itself' : 'go out by themselves'}`;
  if (auto === 0) return `Needs action (${actions.length}):`;
  // Nothing to fix: "Needs action" over files that need none reads as a contradiction.
  if (fix === 0) return `Nothing to fix; waiting (${auto}): ${themselves}:`;
  return `Needs action (${actions.length}): ${fix} to fix; ${themselves}:`;
}

/** The human-readable status: a table of every object, then the needs-action list. */
export function renderStatus(rows: StatusRow[], prefix: string, bucket: string, offsetMinutes: number, { quota, held = [], nowMs, ccc }: StatusExtras = {}): string[] {
  const where = `${prefix ? `under ${prefix} ` : ''}in ${bucket}`;
  if (rows.length === 0) return [`no objects ${where} yet: copy an .mp3 or .wav into the drop folder`, ...heldLines(held), ...cccLines(ccc)];
  const table = renderTable(
    [{ header: 'KEY', maxWidth: KEY_WIDTH, cut: 'middle' }, { header: 'STATUS' }, { header: 'FILEID' }, { header: 'REVIEW' }, { header: `UPDATED (${zoneName(offsetMinutes)})` }, { header: 'ERROR / NOTE', maxWidth: ERROR_WIDTH }],
    rows.map(({ key, state: s }) => [
      key,
      s.status ?? '(none yet)',
      s.fileId !== undefined ? String(s.fileId) : '-',
      s.review ?? '-',
      s.atMs !== undefined ? formatDateTime(s.atMs, offsetMinutes) : '-',
      [s.errorCode, s.errorMessage].filter(Boolean).join(': ') || (s.converted ? `sent converted: ${s.converted}` : ''),
    ]),
  );
  const lines = [`${rows.length} object(s) ${where}`, '', ...table];
  // A trial watched files stay `pending` long after the local CCC had approved them: the column is
  // what the last recovery pass read, and nothing said when the next one comes.
  if (rows.some((r) => r.state.status === 'uploaded' && r.state.review === 'pending')) {
    lines.push("(REVIEW is what the last recovery pass read from CCC: the stack's timer refreshes it every few minutes; `npm run report` runs a pass now.)");
  }
  lines.push(...heldLines(held));
  const actions = needsAction(rows, offsetMinutes, quota, nowMs);
  lines.push('');
  if (actions.length === 0) lines.push('Needs action: nothing.');
  else {
    const rowsOut = renderTable([{ header: 'KEY', maxWidth: KEY_WIDTH, cut: 'middle' }, { header: 'WHY' }], actions.map((a) => [a.key, a.detail])).slice(1);
    // A failed file's row is followed by what to do about it, as its note in failed/ says.
    lines.push(actionHeading(actions), ...rowsOut.flatMap((l, i) => [`  ${l}`, ...(actions[i]?.fix ? [`    what to do: ${actions[i].fix}`] : []), ...(actions[i]?.file ? [`    the file:   ${printable(actions[i].file ?? '')} in the drop folder${actions[i].note ? ', its note beside it' : ''}`] : [])]));
  }
  const clashes = namesInBucketTwice(rows);
  if (clashes.length > 0) {
    lines.push('', 'Same name in CCC (different files, each registered; CCC\'s IVR editor lists them alike: pick the one you mean by its FileId):');
    for (const c of clashes) {
      const keys = distinctKeys(c.files.map((f) => f.key));
      lines.push(`  ${c.name}: ${c.files.map((f, i) => `${keys[i]} (FileId ${f.fileId})`).join(', ')}`);
    }
  }
  lines.push(...cccLines(ccc));
  return lines;
}
