/**
 * A COS XML API server on loopback that behaves like the real one where the product depends on
 * it: q-sign signatures (headers or URL query) are verified and expire, buckets are private,
 * HEAD/GET (Range, If-Match)/PUT (forbid-overwrite)/copy (metadata directives; storage class and
 * SSE reset unless named)/DELETE/list, archived objects unreadable, a role denied deletes
 * (refused key by key inside a batch, with HTTP 200), GET/PUT Bucket versioning (and
 * forbid-overwrite ignored once a bucket ever had versioning enabled, as COS does), real error
 * shapes, and `cos:ObjectCreated:*` events for whoever subscribes.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { FakeCredential } from './credentials';
import { recordActionOf } from './actions';
import { FaultQueue, LoopbackServer, type Fault } from './loopback-server';
import { cosSign, parseCosAuthorization } from './signatures';

export interface StoredObject {
  key: string;
  body: Buffer;
  etag: string;
  lastModified: string;
  standard: Record<string, string>;
  meta: Record<string, string>;
}

export type CosOp = 'HEAD' | 'GET' | 'PUT' | 'COPY' | 'DELETE' | 'DELETE_MULTI' | 'LIST' | 'GET_VERSIONING' | 'PUT_VERSIONING';

/** A bucket's versioning as GET Bucket versioning shows it: absent until it was first set. */
export type FakeVersioningStatus = 'Enabled' | 'Suspended';

export interface CosFault extends Fault {
  op?: CosOp;
  /** Only requests for keys starting with this. */
  keyPrefix?: string;
  status?: number;
  code?: string;
  /** For COPY: answer 200 with an error body, as COS sometimes does. */
  bodyError?: boolean;
  /** Drop the connection without answering (nothing is done). */
  reset?: boolean;
  /** Do the write, then drop the connection: the client never learns that it happened. */
  resetAfterCommit?: boolean;
  /** Run before the request is served (e.g. to change the object mid-flight); a promise holds the request until it settles. */
  before?: () => unknown;
}

export interface FakeCosOptions {
  credentials: FakeCredential[];
  port?: number;
  /** Persist objects here so a restart keeps the bucket (local stack). */
  dataDir?: string;
  /** The clock signatures are checked against (real time: the SDKs sign with it). */
  clock?: () => number;
  /** The clock of everything else: rate windows, quota days, listing lag, timestamps. Defaults to `clock`. */
  time?: () => number;
  /** Waits in `time`'s units (slow answers); defaults to real timers. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Listings lag like COS's (GET Bucket is eventually consistent): a new key shows up, and a
   * deleted one disappears, only after a random delay of up to this many ms. Reads by key are exact.
   */
  listLagMs?: number;
  /** Random source for the listing lag (seeded in the fault suite). */
  random?: () => number;
}

/** A request as the fault suite sees it: who made it, and whether a write took effect. */
export interface CosRequestInfo {
  op: CosOp | 'BUCKET';
  bucket: string;
  key: string;
  secretId: string;
  status: number;
}

export interface CosRequestLog {
  op: CosOp | 'BUCKET';
  bucket: string;
  key: string;
  status: number;
  /** The credential that signed it (the fault suite gives each process its own). */
  secretId: string;
  /** For a LIST: the prefix it listed (its `key` is the bucket's, ''). */
  prefix?: string;
  /** Signed in the URL's query (a signed URL, e.g. CCC downloading a file), not in an Authorization header. */
  presigned?: boolean;
}

/** CAM action names of the operations this fake serves. */
const COS_ACTIONS: Record<CosOp | 'BUCKET', string> = {
  HEAD: 'cos:HeadObject',
  GET: 'cos:GetObject',
  PUT: 'cos:PutObject',
  COPY: 'cos:PutObjectCopy',
  DELETE: 'cos:DeleteObject',
  // With signed (non-anonymous) requests, a batch delete needs cos:DeleteObject on each object and
  // nothing more (cloud.tencent.com/document/product/436/64963, "删除多个对象"); anonymous batch
  // deletes would also need cos:DeleteMultipleObjects.
  DELETE_MULTI: 'cos:DeleteObject',
  LIST: 'cos:GetBucket',
  GET_VERSIONING: 'cos:GetBucketVersioning',
  PUT_VERSIONING: 'cos:PutBucketVersioning',
  BUCKET: 'cos:PutBucket',
};
const STANDARD = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'expires'];
/**
 * Storage class and server-side encryption, kept per object like COS: shown on HEAD/GET only when
 * not the default (STANDARD, no SSE), and never carried over by a copy, whatever its metadata
 * directive: "unless the storage class, ACL and SSE are explicitly specified in the request, the
 * destination object will be STANDARD ... and SSE will not be used" (PUT Object - Copy, 436/10881).
 */
const STORAGE_CLASS = 'x-cos-storage-class';
const SSE = 'x-cos-server-side-encryption';
const SSE_KMS_KEY = 'x-cos-server-side-encryption-cos-kms-key-id';
const STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ARCHIVE', 'DEEP_ARCHIVE', 'INTELLIGENT_TIERING', 'MAZ_STANDARD', 'MAZ_STANDARD_IA', 'MAZ_INTELLIGENT_TIERING'];
/** Classes whose objects must be restored before a GET (COS answers 403 InvalidObjectState). */
const ARCHIVED = ['ARCHIVE', 'DEEP_ARCHIVE'];
/** The key id COS reports for SSE-KMS without a key named (the account's default CMK). */
const FAKE_DEFAULT_KMS_KEY = 'fake-default-cmk-0000';

/** The storage class and SSE a PUT or copy request names (only what differs from the default is kept). */
function storageFrom(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const cls = req.headers[STORAGE_CLASS];
  if (typeof cls === 'string') {
    if (!STORAGE_CLASSES.includes(cls)) throw new CosHttpError(400, 'InvalidArgument', `Invalid storage class: ${cls}`);
    if (cls !== 'STANDARD') out[STORAGE_CLASS] = cls;
  }
  const sse = req.headers[SSE];
  if (typeof sse === 'string') {
    // SSE-COS takes AES256 or SM4 (cloud.tencent.cn/document/product/436/18145); SSE-KMS is cos/kms.
    if (sse !== 'AES256' && sse !== 'SM4' && sse !== 'cos/kms') throw new CosHttpError(400, 'InvalidArgument', `Invalid server side encryption: ${sse}`);
    out[SSE] = sse;
    if (sse === 'cos/kms') {
      const kms = req.headers[SSE_KMS_KEY];
      out[SSE_KMS_KEY] = typeof kms === 'string' && kms !== '' ? kms : FAKE_DEFAULT_KMS_KEY;
    }
  }
  return out;
}

/** An object's headers without its storage class and SSE (what a copy does not carry over). */
function withoutStorage(standard: Record<string, string>): Record<string, string> {
  const { [STORAGE_CLASS]: _c, [SSE]: _s, [SSE_KMS_KEY]: _k, ...rest } = standard;
  return rest;
}
const META_BUDGET = 2048;
/** Where a bucket's versioning is kept in the local stack's data folder (beside its objects). */
const VERSIONING_FILE = 'versioning.state';

/** The operation of a request on the bucket itself (an empty key), by method and sub-resource. */
function bucketOp(method: string, query: Record<string, string>): CosOp | 'BUCKET' {
  if ('versioning' in query) return method === 'GET' ? 'GET_VERSIONING' : method === 'PUT' ? 'PUT_VERSIONING' : 'BUCKET';
  if (method === 'GET') return 'LIST';
  return method === 'POST' && 'delete' in query ? 'DELETE_MULTI' : 'BUCKET';
}
const HOST_RE = /^([a-z0-9-]+-\d+)\.cos\.([a-z0-9-]+)\.myqcloud\.com$/;

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function parseQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq === -1 ? part : part.slice(0, eq);
    const v = eq === -1 ? '' : part.slice(eq + 1);
    try {
      out[decodeURIComponent(k)] = decodeURIComponent(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

class CosHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeCos extends LoopbackServer {
  private buckets = new Map<string, Map<string, StoredObject>>();
  /**
   * Per bucket: its versioning status (absent: never set) and whether it was ever `Enabled`. COS
   * ignores `x-cos-forbid-overwrite` on a bucket that ever had versioning enabled, suspended since
   * or not (platform.md §8), and versioning can never be switched off again, only suspended.
   */
  private versioning = new Map<string, { status: FakeVersioningStatus; everEnabled: boolean }>();
  private faults = new FaultQueue<CosFault>();
  private listeners: Array<(e: { eventName: string; bucket: string; region: string; object: StoredObject }) => void> = [];
  readonly requests: CosRequestLog[] = [];
  private creds: Map<string, FakeCredential>;
  clock: () => number;
  time: () => number;
  sleep: (ms: number) => Promise<void>;
  listLagMs: number;
  private random: () => number;
  /** When each key becomes visible to listings (absent: visible). */
  private listedFrom = new Map<string, number>();
  /** Deleted keys that listings still show until the given time. */
  private ghosts = new Map<string, { object: StoredObject; until: number }>();
  /** Called once a write has taken effect, before the answer is sent (the fault suite kills callers here). */
  onCommitted?: (info: CosRequestInfo) => void;
  /**
   * Keys the caller's CAM policy does not let it delete (`cos:DeleteObject` denied). COS checks
   * that permission object by object, also inside a batch delete: a lone DELETE is refused with
   * 403, a DELETE Multiple Objects still answers 200 and lists each refused key as an `<Error>`,
   * in Quiet mode too (cloud.tencent.com/document/api/436/8289).
   */
  deleteDenied?: (bucket: string, key: string) => boolean;

  constructor(private readonly opts: FakeCosOptions) {
    super(opts.port, (req, res) => this.handle(req, res));
    this.creds = new Map(opts.credentials.map((c) => [c.secretId, c]));
    this.clock = opts.clock ?? Date.now;
    this.time = opts.time ?? (() => this.clock());
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.listLagMs = opts.listLagMs ?? 0;
    this.random = opts.random ?? Math.random;
    if (opts.dataDir) this.load(opts.dataDir);
  }

  /** Accepts another credential (each process of the fault suite has its own, to tell callers apart). */
  addCredential(c: FakeCredential): void {
    this.creds.set(c.secretId, c);
  }

  createBucket(bucket: string): void {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  onObjectCreated(fn: (e: { eventName: string; bucket: string; region: string; object: StoredObject }) => void): void {
    this.listeners.push(fn);
  }

  inject(fault: CosFault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  object(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  keys(bucket: string, prefix = ''): string[] {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Writes an object directly (test set-up), without a signed request or an event. */
  putDirect(bucket: string, key: string, body: Buffer, headers: { contentType?: string; meta?: Record<string, string>; standard?: Record<string, string> } = {}): StoredObject {
    this.createBucket(bucket);
    const obj: StoredObject = {
      key,
      body,
      etag: createHash('md5').update(body).digest('hex'),
      lastModified: new Date(this.time()).toUTCString(),
      standard: { 'content-type': headers.contentType ?? 'application/octet-stream', ...headers.standard },
      meta: headers.meta ?? {},
    };
    this.store(bucket, obj);
    return obj;
  }

  /** Sets a bucket's versioning directly (test set-up, as an operator's console switch), as PUT Bucket versioning does. */
  setVersioning(bucket: string, status: FakeVersioningStatus): void {
    this.createBucket(bucket);
    const everEnabled = status === 'Enabled' || (this.versioning.get(bucket)?.everEnabled ?? false);
    this.versioning.set(bucket, { status, everEnabled });
    if (this.opts.dataDir) {
      const dir = path.join(this.opts.dataDir, bucket);
      fs.mkdirSync(dir, { recursive: true });
      // Not `.json`: load() takes every `.json` file of a bucket's folder for an object.
      fs.writeFileSync(path.join(dir, VERSIONING_FILE), JSON.stringify(this.versioning.get(bucket)));
    }
  }

  /** A bucket's versioning status as GET Bucket versioning reports it (undefined: never set). */
  versioningOf(bucket: string): FakeVersioningStatus | undefined {
    return this.versioning.get(bucket)?.status;
  }

  deleteDirect(bucket: string, key: string): void {
    this.remove(bucket, key);
  }

  private remove(bucket: string, key: string): void {
    const objects = this.buckets.get(bucket);
    const o = objects?.get(key);
    if (!o) return;
    objects!.delete(key);
    const id = `${bucket}/${key}`;
    this.listedFrom.delete(id);
    if (this.listLagMs > 0) this.ghosts.set(id, { object: o, until: this.time() + this.random() * this.listLagMs });
    this.persistDelete(bucket, key);
  }

  // ---- persistence (local stack) ----

  private fileFor(bucket: string, key: string): string {
    return path.join(this.opts.dataDir!, bucket, createHash('sha1').update(key).digest('hex'));
  }

  private store(bucket: string, obj: StoredObject): void {
    const id = `${bucket}/${obj.key}`;
    if (!this.buckets.get(bucket)!.has(obj.key) && this.listLagMs > 0) this.listedFrom.set(id, this.time() + this.random() * this.listLagMs);
    this.ghosts.delete(id);
    this.buckets.get(bucket)!.set(obj.key, obj);
    if (!this.opts.dataDir) return;
    const file = this.fileFor(bucket, obj.key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Write-then-rename: a Ctrl-C mid-write never leaves a half-written object behind.
    const { body, ...rest } = obj;
    fs.writeFileSync(file + '.tmp', JSON.stringify({ ...rest, body: body.toString('base64') }));
    fs.renameSync(file + '.tmp', file + '.json');
  }

  private persistDelete(bucket: string, key: string): void {
    if (this.opts.dataDir) fs.rmSync(this.fileFor(bucket, key) + '.json', { force: true });
  }

  private load(dir: string): void {
    if (!fs.existsSync(dir)) return;
    for (const bucket of fs.readdirSync(dir)) {
      const objects = new Map<string, StoredObject>();
      const versioning = path.join(dir, bucket, VERSIONING_FILE);
      if (fs.existsSync(versioning)) this.versioning.set(bucket, JSON.parse(fs.readFileSync(versioning, 'utf8')) as { status: FakeVersioningStatus; everEnabled: boolean });
      for (const f of fs.readdirSync(path.join(dir, bucket))) {
        if (!f.endsWith('.json')) continue;
        const raw = JSON.parse(fs.readFileSync(path.join(dir, bucket, f), 'utf8')) as Omit<StoredObject, 'body'> & { body: string };
        objects.set(raw.key, { ...raw, body: Buffer.from(raw.body, 'base64') });
      }
      this.buckets.set(bucket, objects);
    }
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const requestId = randomBytes(12).toString('base64url');
    res.setHeader('x-cos-request-id', requestId);
    res.setHeader('Server', 'tencent-cos');
    // COS's own time, as it checks signatures by: the SDK corrects a client clock off by 30 s or
    // more from it (CorrectClockSkew) when a signature is refused as expired or too skewed.
    res.setHeader('Date', new Date(this.clock()).toUTCString());
    let op: CosOp | 'BUCKET' = 'GET';
    let bucket = '';
    let key = '';
    let secretId = '';
    let presigned = false;
    /** The connection was dropped by a fault: the client saw no answer (status 0 in the log). */
    let dropped = false;
    let listPrefix: string | undefined;
    try {
      const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
      const hm = HOST_RE.exec(host);
      if (!hm) throw new CosHttpError(400, 'InvalidURI', `unknown host ${host}`);
      bucket = hm[1];
      const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?');
      let decodedPath: string;
      try {
        decodedPath = decodeURIComponent(rawPath);
      } catch {
        throw new CosHttpError(400, 'InvalidURI', 'could not decode the path');
      }
      key = decodedPath.slice(1);
      const query = parseQuery(rawQuery);
      const method = (req.method ?? 'GET').toUpperCase();
      op = key === '' ? bucketOp(method, query) : method === 'PUT' && req.headers['x-cos-copy-source'] ? 'COPY' : (method as CosOp);
      presigned = query['q-sign-algorithm'] !== undefined;
      if (op === 'LIST') listPrefix = query.prefix ?? '';
      secretId = this.authenticate(req, method, decodedPath, query);
      recordActionOf(this.creds.get(secretId), COS_ACTIONS[op]);
      const fault = this.takeFault(op === 'BUCKET' ? 'PUT' : op, key);
      if (fault?.before) await fault.before();
      if (fault?.reset) {
        dropped = true;
        req.socket.destroy();
        return;
      }
      const info = (): CosRequestInfo => ({ op, bucket, key, secretId, status: res.statusCode });
      const writes = op === 'PUT' || op === 'COPY' || op === 'DELETE' || op === 'DELETE_MULTI';
      if (writes && (fault?.resetAfterCommit || this.onCommitted)) {
        // Intercept the answer: the write has happened by the time the route answers.
        const end = res.end.bind(res);
        const writeHead = res.writeHead.bind(res);
        let status = 0;
        res.writeHead = ((code: number, ...rest: unknown[]) => {
          status = code;
          return fault?.resetAfterCommit ? res : (writeHead as (...a: unknown[]) => http.ServerResponse)(code, ...rest);
        }) as typeof res.writeHead;
        res.end = ((...args: unknown[]) => {
          if (status < 300) this.onCommitted?.({ ...info(), status });
          if (fault?.resetAfterCommit) {
            dropped = true;
            req.socket.destroy();
            return res;
          }
          return (end as (...a: unknown[]) => http.ServerResponse)(...args);
        }) as typeof res.end;
      }
      if (fault && fault.status) throw new CosHttpError(fault.status, fault.code ?? 'InternalError', 'injected fault');
      if (fault?.bodyError) {
        this.sendError(res, 200, fault.code ?? 'InternalError', 'We encountered an internal error. Please try again.', `${host}/${key}`, requestId);
        return;
      }
      this.route(op, req, res, bucket, hm[2], key, query, body);
    } catch (e) {
      if (e instanceof CosHttpError) {
        if (req.method === 'HEAD') {
          res.writeHead(e.status, { 'x-cos-error-code': e.code }).end();
        } else {
          this.sendError(res, e.status, e.code, e.message, `${bucket}/${key}`, requestId);
        }
      } else {
        this.sendError(res, 500, 'InternalError', String(e), `${bucket}/${key}`, requestId);
      }
    } finally {
      this.requests.push({ op, bucket, key, status: dropped ? 0 : res.statusCode, secretId, ...(presigned ? { presigned } : {}), ...(listPrefix !== undefined ? { prefix: listPrefix } : {}) });
    }
  }

  private takeFault(op: CosOp, key: string): CosFault | undefined {
    return this.faults.take((f) => (!f.op || f.op === op) && (!f.keyPrefix || key.startsWith(f.keyPrefix)));
  }

  private sendError(res: http.ServerResponse, status: number, code: string, message: string, resource: string, requestId: string): void {
    const xml = `<?xml version='1.0' encoding='utf-8' ?>\n<Error>\n\t<Code>${xmlEscape(code)}</Code>\n\t<Message>${xmlEscape(message)}</Message>\n\t<Resource>${xmlEscape(resource)}</Resource>\n\t<RequestId>${requestId}</RequestId>\n\t<TraceId>${randomBytes(16).toString('hex')}</TraceId>\n</Error>`;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) }).end(xml);
  }

  /** Verifies the q-sign signature, from the Authorization header or a signed URL. */
  private authenticate(req: http.IncomingMessage, method: string, decodedPath: string, query: Record<string, string>): string {
    const fromQuery = query['q-sign-algorithm'] !== undefined;
    const fields = fromQuery ? query : parseQuery(String(req.headers.authorization ?? ''));
    const auth = parseCosAuthorization(fields);
    if (!auth) throw new CosHttpError(403, 'AccessDenied', 'Access Denied.');
    const cred = this.creds.get(auth.secretId);
    if (!cred) throw new CosHttpError(403, 'InvalidAccessKeyId', 'The Access Key Id you provided does not exist in our records.');
    const now = Math.floor(this.clock() / 1000);
    if (now > auth.signTime[1]) throw new CosHttpError(403, 'AccessDenied', 'Request has expired');
    // A signature that starts in the future is accepted within a clock-skew allowance.
    if (now < auth.signTime[0] - 900) throw new CosHttpError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.');
    const headers: Record<string, string> = {};
    for (const name of auth.headerList) {
      const v = req.headers[name];
      headers[name] = Array.isArray(v) ? v.join(',') : (v ?? '');
    }
    const params: Record<string, string> = {};
    for (const name of auth.paramList) {
      const found = Object.keys(query).find((k) => k.toLowerCase() === name);
      params[name] = found === undefined ? '' : query[found];
    }
    const expected = cosSign({ secretKey: cred.secretKey, keyTime: auth.keyTime, method, path: decodedPath, params, headers }).signature;
    if (expected !== auth.signature) throw new CosHttpError(403, 'SignatureDoesNotMatch', 'The Signature you specified is invalid.');
    if (cred.token !== undefined) {
      const token = fromQuery ? query['x-cos-security-token'] : req.headers['x-cos-security-token'];
      if (token !== cred.token) throw new CosHttpError(403, 'InvalidAccessKeyId', 'The security token is missing or invalid.');
    }
    return cred.secretId;
  }

  private route(op: CosOp | 'BUCKET', req: http.IncomingMessage, res: http.ServerResponse, bucket: string, region: string, key: string, query: Record<string, string>, body: Buffer): void {
    if (op === 'DELETE_MULTI') return this.deleteMulti(req, res, bucket, body);
    if (op === 'BUCKET') {
      if (req.method === 'PUT') {
        this.createBucket(bucket);
        res.writeHead(200).end();
        return;
      }
      if (!this.buckets.has(bucket)) throw new CosHttpError(404, 'NoSuchBucket', 'The specified bucket does not exist.');
      res.writeHead(200).end();
      return;
    }
    const objects = this.buckets.get(bucket);
    if (!objects) throw new CosHttpError(404, 'NoSuchBucket', 'The specified bucket does not exist.');
    switch (op) {
      case 'GET_VERSIONING':
        return this.getVersioning(res, bucket);
      case 'PUT_VERSIONING':
        return this.putVersioning(req, res, bucket, body);
      case 'LIST':
        return this.list(res, bucket, objects, query);
      case 'HEAD':
      case 'GET':
        return this.read(op, req, res, objects.get(key));
      case 'PUT':
        return this.put(req, res, bucket, region, key, body);
      case 'COPY':
        return this.copy(req, res, bucket, region, key);
      case 'DELETE':
        if (this.deleteDenied?.(bucket, key)) throw new CosHttpError(403, 'AccessDenied', 'Access Denied.');
        this.remove(bucket, key);
        res.writeHead(204).end();
        return;
      default:
        throw new CosHttpError(405, 'MethodNotAllowed', 'The specified method is not allowed.');
    }
  }

  private objectHeaders(o: StoredObject): Record<string, string> {
    const h: Record<string, string> = { ETag: `"${o.etag}"`, 'Last-Modified': o.lastModified };
    for (const [k, v] of Object.entries(o.standard)) if (v) h[k] = v;
    for (const [k, v] of Object.entries(o.meta)) h[`x-cos-meta-${k}`] = v;
    return h;
  }

  private read(op: 'HEAD' | 'GET', req: http.IncomingMessage, res: http.ServerResponse, o: StoredObject | undefined): void {
    if (!o) throw new CosHttpError(404, 'NoSuchKey', 'The specified key does not exist.');
    if (op === 'GET' && ARCHIVED.includes(o.standard[STORAGE_CLASS] ?? '')) throw new CosHttpError(403, 'InvalidObjectState', "The operation is not valid for the object's storage class.");
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch.replace(/"/g, '') !== o.etag) throw new CosHttpError(412, 'PreconditionFailed', 'Precondition not met for target object.');
    const headers = this.objectHeaders(o);
    let slice = o.body;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
    // Like COS (and S3), an empty object has no byte to range over.
    if (range && o.body.length === 0) throw new CosHttpError(416, 'InvalidRange', 'The requested range is not satisfiable');
    if (range && o.body.length > 0) {
      const start = range[1] === '' ? Math.max(0, o.body.length - Number(range[2])) : Number(range[1]);
      const end = range[1] === '' || range[2] === '' ? o.body.length - 1 : Math.min(Number(range[2]), o.body.length - 1);
      if (start > end || start >= o.body.length) throw new CosHttpError(416, 'InvalidRange', 'The requested range is not satisfiable');
      slice = o.body.subarray(start, end + 1);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${o.body.length}`;
    }
    headers['Content-Length'] = String(slice.length);
    res.writeHead(status, headers);
    res.end(op === 'HEAD' ? undefined : slice);
  }

  private metaFrom(req: http.IncomingMessage): { standard: Record<string, string>; meta: Record<string, string> } {
    const standard: Record<string, string> = {};
    const meta: Record<string, string> = {};
    let used = 0;
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value !== 'string') continue;
      if (STANDARD.includes(name) && value !== '') standard[name] = value;
      if (name.startsWith('x-cos-meta-')) {
        meta[name.slice('x-cos-meta-'.length)] = value;
        used += Buffer.byteLength(name) + Buffer.byteLength(value);
      }
    }
    if (used > META_BUDGET) throw new CosHttpError(400, 'MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.');
    return { standard: { ...standard, ...storageFrom(req) }, meta };
  }

  private put(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, region: string, key: string, body: Buffer): void {
    const objects = this.buckets.get(bucket)!;
    // Ignored, without an error, on a bucket that ever had versioning enabled: the PUT overwrites.
    const forbidHonoured = !(this.versioning.get(bucket)?.everEnabled ?? false);
    if (forbidHonoured && req.headers['x-cos-forbid-overwrite'] === 'true' && objects.has(key)) {
      throw new CosHttpError(409, 'FileAlreadyExists', 'The object already exists, overwriting is forbidden.');
    }
    const { standard, meta } = this.metaFrom(req);
    if (!standard['content-type']) standard['content-type'] = 'application/octet-stream';
    const obj: StoredObject = { key, body, etag: createHash('md5').update(body).digest('hex'), lastModified: new Date(this.time()).toUTCString(), standard, meta };
    this.store(bucket, obj);
    res.writeHead(200, { ETag: `"${obj.etag}"`, 'Content-Length': '0' }).end();
    this.emit('cos:ObjectCreated:Put', bucket, region, obj);
  }

  private copy(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, region: string, key: string): void {
    const source = String(req.headers['x-cos-copy-source']);
    const m = /^([a-z0-9-]+-\d+)\.cos\.[a-z0-9-]+\.myqcloud\.com\/(.+)$/.exec(source);
    if (!m) throw new CosHttpError(400, 'InvalidArgument', 'x-cos-copy-source is malformed');
    let sourceKey: string;
    try {
      sourceKey = decodeURIComponent(m[2]);
    } catch {
      throw new CosHttpError(400, 'InvalidArgument', 'x-cos-copy-source is not URL-encoded');
    }
    const src = this.buckets.get(m[1])?.get(sourceKey);
    if (!src) throw new CosHttpError(404, 'NoSuchKey', 'The specified key does not exist.');
    const ifMatch = req.headers['x-cos-copy-source-if-match'];
    if (typeof ifMatch === 'string' && ifMatch.replace(/"/g, '') !== src.etag) throw new CosHttpError(412, 'PreconditionFailed', 'Precondition not met for source object.');
    const directive = String(req.headers['x-cos-metadata-directive'] ?? 'Copy');
    // Storage class and SSE come from the request only (see STORAGE_CLASS), whatever the directive.
    let standard = { ...withoutStorage(src.standard), ...storageFrom(req) };
    let meta = src.meta;
    if (directive === 'Replaced') {
      ({ standard, meta } = this.metaFrom(req));
    } else if (m[1] === bucket && sourceKey === key) {
      throw new CosHttpError(400, 'InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the metadata.');
    }
    const obj: StoredObject = { key, body: src.body, etag: src.etag, lastModified: new Date(this.time()).toUTCString(), standard: { ...standard }, meta: { ...meta } };
    this.store(bucket, obj);
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><ETag>"${obj.etag}"</ETag><LastModified>${new Date(this.time()).toISOString()}</LastModified></CopyObjectResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) }).end(xml);
    this.emit('cos:ObjectCreated:Copy', bucket, region, obj);
  }

  private list(res: http.ServerResponse, bucket: string, objects: Map<string, StoredObject>, query: Record<string, string>): void {
    const prefix = query.prefix ?? '';
    const marker = query.marker ?? '';
    const max = Math.min(Number(query['max-keys'] ?? 1000) || 1000, 1000);
    const now = this.time();
    const visible = new Map<string, StoredObject>();
    for (const [k, o] of objects) if ((this.listedFrom.get(`${bucket}/${k}`) ?? 0) <= now) visible.set(k, o);
    for (const [id, g] of this.ghosts) {
      if (g.until <= now) this.ghosts.delete(id);
      else if (id.startsWith(`${bucket}/`) && !visible.has(g.object.key)) visible.set(g.object.key, g.object);
    }
    const all = [...visible.keys()].filter((k) => k.startsWith(prefix) && k > marker).sort();
    const page = all.slice(0, max);
    const truncated = all.length > max;
    const contents = page
      .map((k) => {
        const o = visible.get(k)!;
        return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified><ETag>"${o.etag}"</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><Marker>${xmlEscape(marker)}</Marker><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${truncated ? `<NextMarker>${xmlEscape(page[page.length - 1])}</NextMarker>` : ''}${contents}</ListBucketResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) }).end(xml);
  }

  /**
   * GET /?versioning: `<VersioningConfiguration>` with `<Status>` once versioning was ever set,
   * an empty one for a bucket that never had it.
   */
  private getVersioning(res: http.ServerResponse, bucket: string): void {
    const status = this.versioning.get(bucket)?.status;
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${status ? `<VersioningConfiguration><Status>${status}</Status></VersioningConfiguration>` : '<VersioningConfiguration/>'}`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) }).end(xml);
  }

  /** PUT /?versioning: `Enabled` or `Suspended`; there is no way back to never versioned. */
  private putVersioning(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, body: Buffer): void {
    const md5 = req.headers['content-md5'];
    if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) throw new CosHttpError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.');
    const status = /^\s*(?:<\?xml[^>]*\?>)?\s*<VersioningConfiguration>\s*<Status>(Enabled|Suspended)<\/Status>\s*<\/VersioningConfiguration>\s*$/.exec(body.toString('utf8'))?.[1];
    if (status !== 'Enabled' && status !== 'Suspended') throw new CosHttpError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    this.setVersioning(bucket, status);
    res.writeHead(200, { 'Content-Length': '0' }).end();
  }

  /** POST /?delete (DeleteMultipleObjects): the XML names the keys; Content-MD5 must match. */
  private deleteMulti(req: http.IncomingMessage, res: http.ServerResponse, bucket: string, body: Buffer): void {
    const md5 = createHash('md5').update(body).digest('base64');
    if (req.headers['content-md5'] !== md5) throw new CosHttpError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.');
    const xml = body.toString('utf8');
    const unescape = (v: string) => v.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
    const keys = [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unescape(m[1]));
    if (keys.length === 0 || keys.length > 1000) throw new CosHttpError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    const refused = keys.filter((k) => this.deleteDenied?.(bucket, k));
    const deleted = keys.filter((k) => !refused.includes(k));
    for (const k of deleted) this.remove(bucket, k);
    // Quiet mode leaves out what was deleted, never what was refused.
    const quiet = /<Quiet>true<\/Quiet>/.test(xml);
    const errors = refused.map((k) => `<Error><Key>${xmlEscape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`).join('');
    const out = `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult>${quiet ? '' : deleted.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('')}${errors}</DeleteResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(out) }).end(out);
  }

  private emit(eventName: string, bucket: string, region: string, object: StoredObject): void {
    for (const l of this.listeners) l({ eventName, bucket, region, object });
  }
}
