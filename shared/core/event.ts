/**
 * Parsing of the functions' events: COS trigger events into typed records, each record on its own
 * so that a malformed one becomes a per-record error instead of failing the whole event; and the
 * timer's, which may name a day to report.
 */
import { IvrError } from './errors';
import { tryDecodeURIComponent } from './text';
import { isDay } from './zone';

/** `created`: an upload; `copy`: a copy, our own metadata write-backs included; `other`: anything else. */
export type EventKind = 'created' | 'copy' | 'other';

/** One usable record of a COS trigger event. */
export interface ObjectEvent {
  /** Position of the record in the event's `Records`. */
  index: number;
  eventName: string;
  kind: EventKind;
  /** Full bucket name, `<name>-<appid>`, as the COS API wants it. */
  bucket: string;
  /** `ap-xxx` region when the event says so; otherwise the function's own region applies. */
  region?: string;
  key: string;
  /** The other reading of an ambiguous key (see `recoverKey`), tried when `key` does not exist. */
  altKey?: string;
  /** The size the event states, when valid (the intake goes by the object's own size). */
  size?: number;
  /** The event's request id (`reqid` or `requestId`), when it has one. */
  eventRequestId?: string;
}

/** A parsed record, or why record `index` cannot be acted on (`EventInvalid`). */
export type ParsedRecord = { ok: true; event: ObjectEvent } | { ok: false; index: number; error: IvrError; key?: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Sorts a COS event name: `cos:ObjectCreated:Copy` is `copy`, any other `cos:ObjectCreated:*` is `created`. */
export function classifyEvent(eventName: string): EventKind {
  if (!eventName.startsWith('cos:ObjectCreated:')) return 'other';
  return eventName === 'cos:ObjectCreated:Copy' ? 'copy' : 'created';
}

/** COS regions are `ap-guangzhou` style; events may carry short codes (`gz`) that the API rejects. */
export function resolveRegion(bucket: Obj): string | undefined {
  for (const field of ['region', 'cosRegion', 's3Region']) {
    const v = optStr(bucket[field]);
    if (v && /^[a-z]+-[a-z0-9-]+$/.test(v)) return v;
  }
  return undefined;
}

/**
 * `cosObject.key` is `/<appid>/<bucket>/<key>`; whether the key part is percent-encoded is not
 * documented, while `url` always is. Prefer the key read from `url`; otherwise return the raw key
 * and, when it also decodes to something different, that decoding as an alternative.
 */
export function recoverKey(rawKey: string, appid: string, name: string, url?: string): { key: string; altKey?: string } | undefined {
  const prefix = `/${appid}/${name}/`;
  const stripped = rawKey.startsWith(prefix) ? rawKey.slice(prefix.length) : undefined;
  if (url) {
    const m = /^https?:\/\/[^/]+\/(.*)$/.exec(url);
    const fromUrl = m ? tryDecodeURIComponent(m[1].split('?')[0]) : undefined;
    if (fromUrl && (stripped === undefined || fromUrl === stripped || fromUrl === tryDecodeURIComponent(stripped))) return { key: fromUrl };
  }
  if (stripped === undefined || stripped === '') return undefined;
  const decoded = /%[0-9a-fA-F]{2}/.test(stripped) ? tryDecodeURIComponent(stripped) : undefined;
  if (decoded !== undefined && decoded !== stripped) return { key: decoded, altKey: stripped };
  return { key: stripped };
}

function parseRecord(rec: unknown, index: number): ParsedRecord {
  const bad = (msg: string, key?: string): ParsedRecord => ({ ok: false, index, error: new IvrError('EventInvalid', `record ${index}: ${msg}`), key });
  if (!isObj(rec)) return bad('is not an object');
  const cos = rec.cos;
  const ev = rec.event;
  if (!isObj(cos)) return bad('has no "cos" object');
  if (!isObj(ev)) return bad('has no "event" object');
  const eventName = optStr(ev.eventName);
  if (!eventName) return bad('has no event.eventName');
  const obj = cos.cosObject;
  const bucket = cos.cosBucket;
  if (!isObj(obj)) return bad('has no cos.cosObject');
  if (!isObj(bucket)) return bad('has no cos.cosBucket');
  const name = optStr(bucket.name);
  const appid = typeof bucket.appid === 'number' ? String(bucket.appid) : optStr(bucket.appid);
  if (!name || !/^[a-z0-9-]{1,50}$/.test(name)) return bad('has no valid cos.cosBucket.name');
  if (!appid || !/^\d{1,20}$/.test(appid)) return bad('has no valid cos.cosBucket.appid');
  const rawKey = optStr(obj.key);
  if (!rawKey) return bad('has no cos.cosObject.key');
  const recovered = recoverKey(rawKey, appid, name, optStr(obj.url));
  if (!recovered) return bad(`cos.cosObject.key does not start with /${appid}/${name}/`);
  const size = obj.size === undefined ? undefined : Number(obj.size);
  return {
    ok: true,
    event: {
      index,
      eventName,
      kind: classifyEvent(eventName),
      // Some events already carry the `-<appid>` suffix; never add it twice.
      bucket: name.endsWith(`-${appid}`) ? name : `${name}-${appid}`,
      region: resolveRegion(bucket),
      key: recovered.key,
      altKey: recovered.altKey,
      size: size !== undefined && Number.isFinite(size) && size >= 0 ? size : undefined,
      eventRequestId: optStr(ev.reqid) ?? optStr(ev.requestId),
    },
  };
}

/** Throws EventInvalid only when the event as a whole is unusable (no Records array). */
export function parseCosEvent(event: unknown): ParsedRecord[] {
  if (!isObj(event) || !Array.isArray(event.Records)) {
    throw new IvrError('EventInvalid', 'event has no Records array: is this function bound to a COS trigger?');
  }
  const records: unknown[] = event.Records;
  if (records.length === 0) throw new IvrError('EventInvalid', 'event has an empty Records array');
  // Every record is taken, however many: a record refused for the count alone would be lost (no
  // status, no retry). SCF's event size bounds them, and a redelivery after a timeout finds the
  // records already handled answered by the ledger.
  return records.map(parseRecord);
}

/** A timer's `Message` may name the day to report (`2026-11-23`); anything else means the default. */
export function requestedDay(event: unknown): string | undefined {
  const msg = isObj(event) ? event.Message : undefined;
  const day = typeof msg === 'string' ? msg.trim() : '';
  return isDay(day) ? day : undefined;
}
