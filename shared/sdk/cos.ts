/**
 * Thin typed wrapper around cos-nodejs-sdk-v5 for one bucket: the ledger's {@link Store} and the
 * workflow's {@link AudioObjects}, with SDK errors turned into IvrErrors that keep COS's code and
 * request id (and the SDK error as `cause`).
 */
import COS from 'cos-nodejs-sdk-v5';
import type { Config } from '../core/config';
import { IvrError, objectMoved } from '../core/errors';
import { cosTransient, refusedKeysTransient } from '../core/storage';
import { META_PREFIX, userMetadataFromHeaders } from '../core/metadata';
import { versioningFromStatus, type BucketVersioning } from '../core/versioning';
import { fromService } from '../runtime/log';
import type { AudioObjects, ObjectRead } from '../store/objects';
import type { Listed, Store } from '../store/store';

/** The bucket's COS host name, as a copy's `CopySource` names it. */
export function cosHost(bucket: string, region: string): string {
  return `${bucket}.cos.${region}.myqcloud.com`;
}

/**
 * A COS client for the configured credentials (and endpoint override), set up for many small
 * parallel writes. The deploy builds one with its own key for its one check of the bucket.
 */
export function createCosClient(config: Pick<Config, 'credentials' | 'cosEndpoint'>, opts: { backupHost?: boolean } = {}): COS {
  const endpoint = config.cosEndpoint;
  return new COS({
    SecretId: config.credentials.secretId,
    SecretKey: config.credentials.secretKey,
    SecurityToken: config.credentials.sessionToken,
    KeepAlive: true,
    Timeout: 30000,
    // The SDK routes every putObject through its upload-task queue (made for progress UIs): at
    // most FileParallelLimit (default 3) run at once, so a sender's parallel ledger writes would
    // queue behind each other; and finished tasks stay queued until there are UploadQueueSize
    // (default 1000) of them, each one re-formatted on every later put — CPU and memory that grow
    // with a warm instance's age. Our puts are small and already bounded by the workflow.
    FileParallelLimit: 64,
    UploadQueueSize: 8,
    ...(endpoint
      ? {
          // Connect to the given address but keep the real Host, so the signature scope is real.
          Ip: `${endpoint.hostname}:${endpoint.port}`,
          Protocol: endpoint.protocol,
          AutoSwitchHost: false,
        }
      : // backupHost false: only the myqcloud.com host (the deploy's check, whose failure names it),
        // not the SDK's retry of an unanswered request on its tencentcos.cn domain.
        { Protocol: 'https:', ...(opts.backupHost === false ? { AutoSwitchHost: false } : {}) }),
  });
}

/** What the SDK rejected with, as far as we use it. */
type CosErr = { statusCode?: number; code?: string; message?: string; requestId?: string };

/** Reads the SDK's untyped rejection once, field by field: a field of an unexpected type is absent. */
function cosErr(e: unknown): CosErr {
  if (typeof e !== 'object' || e === null) return {};
  const r = e as Record<string, unknown>;
  const headers = typeof r.headers === 'object' && r.headers !== null ? (r.headers as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { statusCode: typeof r.statusCode === 'number' ? r.statusCode : undefined, code: str(r.code), message: str(r.message), requestId: str(headers['x-cos-request-id']) };
}

/**
 * The code a COS failure is reported with: COS's (or Node's, for a connection that failed), else
 * `HTTP<status>`, else `NetworkError`; and whether COS answered at all (`answered`: an HTTP status).
 * `e` is the SDK's rejection, or the `cause` of an IvrError made from one.
 */
export function cosFailure(e: unknown): { code: string; answered: boolean; signatureExpired: boolean } {
  const err = cosErr(e);
  const status = err.statusCode;
  // COS's words (code, message, request id) are passed on, so they pass fromService first.
  const code = err.code && !/^\d+$/.test(err.code) ? fromService(err.code) : status ? `HTTP${status}` : 'NetworkError';
  return { code, answered: status !== undefined, signatureExpired: code === 'AccessDenied' && /request has expired/i.test(err.message ?? '') };
}

function cosError(op: string, key: string, e: unknown): IvrError {
  const err = cosErr(e);
  const status = err.statusCode;
  const { code } = cosFailure(e);
  const transient = cosTransient({ status, code, message: err.message });
  return new IvrError('StorageError', `COS ${op} ${key} failed: ${code}${err.message ? ` (${fromService(err.message)})` : ''}`, { transient, requestId: err.requestId === undefined ? undefined : fromService(err.requestId), cause: e });
}

const statusOf = (e: unknown) => cosErr(e).statusCode;

/** The keys a DELETE Multiple Objects answered 200 for but did not delete, as one failed delete. */
function refusedDeletes(refused: Array<{ Key?: string; Code?: string; Message?: string }>, asked: number, headers: unknown): IvrError {
  const first = refused[0];
  const code = fromService(first.Code || 'UnknownError');
  const message = first.Message ? ` (${fromService(first.Message)})` : '';
  const transient = refusedKeysTransient(refused);
  const requestId = cosErr({ headers }).requestId;
  return new IvrError('StorageError', `COS DELETE refused ${refused.length} of ${asked} keys: ${code}${message}, first ${fromService(first.Key ?? '?')}`, { transient, requestId: requestId === undefined ? undefined : fromService(requestId) });
}

/**
 * The headers a self-copy must resend, or COS drops them: the standard ones (`Replaced` keeps only
 * what the request carries), and the storage class and server-side encryption, which no copy
 * carries over whatever its directive (without them the object becomes STANDARD and unencrypted:
 * PUT Object - Copy, 436/10881). COS shows the last three only when they are not the default.
 */
const STANDARD = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'expires', 'x-cos-storage-class', 'x-cos-server-side-encryption', 'x-cos-server-side-encryption-cos-kms-key-id'] as const;

/** One bucket through cos-nodejs-sdk-v5: the ledger's {@link Store} and the workflow's {@link AudioObjects}. */
export class CosBucket implements Store, AudioObjects {
  constructor(
    private readonly cos: COS,
    /** Full bucket name, `<name>-<appid>`. */
    readonly bucket: string,
    readonly region: string,
    private readonly protocol: 'http:' | 'https:',
  ) {}

  private loc(key: string) {
    return { Bucket: this.bucket, Region: this.region, Key: key };
  }

  // ---- AudioObjects ----

  /** One ranged GET gives the version, the headers and the bytes: no separate HEAD. */
  async read(key: string, maxBytes: number): Promise<ObjectRead | undefined> {
    let res: COS.GetObjectResult;
    try {
      res = await this.cos.getObject({ ...this.loc(key), Range: `bytes=0-${maxBytes - 1}` });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      // An empty object has no byte 0: COS answers 416 to any range.
      if (statusOf(e) === 416) return this.read416(key);
      // ARCHIVE and DEEP_ARCHIVE objects are read only after a restore; a retry would never help.
      if (statusOf(e) === 403 && cosErr(e).code === 'InvalidObjectState') {
        throw new IvrError('ObjectArchived', `the object ${key} is in archive storage (ARCHIVE or DEEP_ARCHIVE), which COS cannot read until it is restored: upload it again as STANDARD or STANDARD_IA`, { cause: e });
      }
      throw cosError('GET', key, e);
    }
    const h = (res.headers ?? {}) as Record<string, string | undefined>;
    const body = Buffer.isBuffer(res.Body) ? res.Body : Buffer.from(String(res.Body ?? ''));
    const total = /\/(\d+)$/.exec(h['content-range'] ?? '')?.[1];
    return { etag: (h.etag ?? '').replace(/"/g, ''), size: total ? Number(total) : body.length, standard: standardOf(h), meta: userMetadataFromHeaders(h), body, lastModified: lastModifiedOf(h) };
  }

  /** The object's version and headers without its bytes (HEAD); undefined when it is gone. */
  async stat(key: string): Promise<Omit<ObjectRead, 'body' | 'size'> | undefined> {
    try {
      const res = await this.cos.headObject(this.loc(key));
      const h = (res.headers ?? {}) as Record<string, string | undefined>;
      return { etag: (h.etag ?? '').replace(/"/g, ''), standard: standardOf(h), meta: userMetadataFromHeaders(h), lastModified: lastModifiedOf(h) };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw cosError('HEAD', key, e);
    }
  }

  private async read416(key: string): Promise<ObjectRead | undefined> {
    try {
      const res = await this.cos.headObject(this.loc(key));
      const h = (res.headers ?? {}) as Record<string, string | undefined>;
      return { etag: (h.etag ?? '').replace(/"/g, ''), size: Number(h['content-length'] ?? 0), standard: standardOf(h), meta: userMetadataFromHeaders(h), body: Buffer.alloc(0), lastModified: lastModifiedOf(h) };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw cosError('HEAD', key, e);
    }
  }

  /**
   * Rewrites user metadata with a self-copy. `Replaced` keeps only what the request carries, so
   * `standard` and `meta` must be every standard header and user metadata the object is to keep
   * (which ones, and whether to read them again first, the workflow decides: jobs.ts `show`).
   * `If-Match` on the source stops us from stamping a result onto content that changed since we
   * read it. COS may answer a failed copy with HTTP 200 and an error body; the SDK turns that into
   * an error.
   */
  async writeMetadata(key: string, etag: string, standard: Record<string, string>, meta: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(meta)) headers[META_PREFIX + name] = value;
    try {
      await this.cos.putObjectCopy({
        ...this.loc(key),
        CopySource: `${cosHost(this.bucket, this.region)}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
        MetadataDirective: 'Replaced',
        CopySourceIfMatch: `"${etag}"`,
        ContentType: standard['content-type'],
        CacheControl: standard['cache-control'],
        ContentDisposition: standard['content-disposition'],
        ContentEncoding: standard['content-encoding'],
        Expires: standard.expires,
        StorageClass: standard['x-cos-storage-class'],
        ServerSideEncryption: standard['x-cos-server-side-encryption'],
        SSEKMSKeyId: standard['x-cos-server-side-encryption-cos-kms-key-id'],
        Headers: headers,
      } as COS.PutObjectCopyParams);
    } catch (e) {
      if (statusOf(e) === 404) throw objectMoved('ObjectNotFound', key, e);
      if (statusOf(e) === 412) throw objectMoved('ObjectChanged', key, e);
      if (cosErr(e).code === 'MetadataTooLarge') throw new IvrError('MetadataTooLarge', `the object ${key}'s own metadata leaves no room for the result within COS's 2 KB`, { cause: e });
      throw cosError('COPY', key, e);
    }
  }

  /** A presigned GET URL, computed locally (no request), over the configured protocol. Its query is a credential. */
  signedUrl(key: string, expiresSeconds: number): string {
    return this.cos.getObjectUrl({ ...this.loc(key), Sign: true, Expires: expiresSeconds, Protocol: this.protocol }, () => undefined);
  }

  /** A plain PUT: an existing object is overwritten. */
  async putBytes(key: string, body: Buffer, contentType: string): Promise<void> {
    try {
      await this.cos.putObject({ ...this.loc(key), Body: body, ContentType: contentType });
    } catch (e) {
      throw cosError('PUT', key, e);
    }
  }

  // ---- Store ----

  /**
   * The bucket's versioning (GET Bucket versioning): `Never` when COS shows no Status. A bucket
   * that does not exist, or a refusal, is a StorageError naming COS's code; a Status COS does not
   * document is `ResponseInvalid`, never taken for "not versioned".
   */
  async versioning(): Promise<BucketVersioning> {
    let res: COS.GetBucketVersioningResult;
    try {
      res = await this.cos.getBucketVersioning({ Bucket: this.bucket, Region: this.region });
    } catch (e) {
      throw cosError('GET Bucket versioning of', `${this.bucket} (${this.region})`, e);
    }
    // The SDK types Status as always there; a bucket that never had versioning has none.
    const status: unknown = (res.VersioningConfiguration as Partial<COS.VersioningConfiguration> | undefined)?.Status;
    const v = versioningFromStatus(status);
    if (v === undefined) throw new IvrError('ResponseInvalid', `COS GET Bucket versioning of ${this.bucket} answered a Status this product does not know: ${fromService(String(status)).slice(0, 40)}`);
    return v;
  }

  /** The object's body as UTF-8 text; undefined on 404. */
  async get(key: string): Promise<string | undefined> {
    try {
      const res = await this.cos.getObject(this.loc(key));
      return Buffer.isBuffer(res.Body) ? res.Body.toString('utf8') : String(res.Body);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw cosError('GET', key, e);
    }
  }

  /**
   * A small PUT through the SDK's generic `request`: putObject would route it through the SDK's
   * upload-task queue (progress events, queue bookkeeping), which cost about a fifth of each
   * ledger write's CPU (measured with `npm run bench`). Same signed request on the wire.
   */
  private async putSmall(key: string, body: string, headers: Record<string, string>): Promise<void> {
    await this.cos.request({ ...this.loc(key), Method: 'PUT', Body: Buffer.from(body), Headers: headers });
  }

  /** A plain PUT, last writer wins; the content type defaults to JSON. */
  async put(key: string, body: string, contentType = 'application/json'): Promise<void> {
    try {
      await this.putSmall(key, body, { 'Content-Type': contentType });
    } catch (e) {
      throw cosError('PUT', key, e);
    }
  }

  /**
   * `x-cos-forbid-overwrite` makes PUT an atomic create-if-absent (409 FileAlreadyExists). A PUT
   * that COS committed but whose answer was lost is retried by the SDK and then answers 409: the
   * caller cannot tell that from losing the race, so callers read the key back when it matters.
   */
  async create(key: string, body: string): Promise<boolean> {
    try {
      await this.putSmall(key, body, { 'Content-Type': 'application/json', 'x-cos-forbid-overwrite': 'true' });
      return true;
    } catch (e) {
      if (statusOf(e) === 409) return false;
      throw cosError('PUT', key, e);
    }
  }

  /** Deletes a key; 404 counts as deleted. */
  async delete(key: string): Promise<void> {
    try {
      await this.cos.deleteObject(this.loc(key));
    } catch (e) {
      if (statusOf(e) !== 404) throw cosError('DELETE', key, e);
    }
  }

  /**
   * One request per 1000 keys (DeleteMultipleObjects). COS checks `cos:DeleteObject` key by key
   * and answers HTTP 200 even when it refused some: each refused key is an `<Error>` in the body,
   * in Quiet mode too (which leaves out only the deleted ones; DELETE Multiple Objects, 436/8289).
   * The SDK resolves with them, so they are checked here: a refused key is a failed delete, as a
   * lone DELETE's 403 is; one that was not there counts as deleted, as a lone DELETE's 404 does.
   */
  async deleteMany(keys: string[]): Promise<void> {
    // One key (a lone file's queue entry): a plain DELETE, without the batch's XML body, its
    // Content-MD5 and the XML answer to parse. Same one request.
    if (keys.length === 1) return this.delete(keys[0]);
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      let res: COS.DeleteMultipleObjectResult;
      try {
        res = await this.cos.deleteMultipleObject({ Bucket: this.bucket, Region: this.region, Objects: chunk.map((Key) => ({ Key })), Quiet: true });
      } catch (e) {
        throw cosError('DELETE', `${chunk.length} keys`, e);
      }
      const refused = (res.Error ?? []).filter((x) => x && x.Code !== 'NoSuchKey');
      if (refused.length > 0) throw refusedDeletes(refused, chunk.length, res.headers);
    }
  }

  /** Pages through GET Bucket, 1000 keys a request, until the listing ends or `limit` keys are in. */
  async list(prefix: string, limit = Infinity): Promise<Listed[]> {
    const out: Listed[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const res = await this.cos.getBucket({ Bucket: this.bucket, Region: this.region, Prefix: prefix, Marker: marker, MaxKeys: 1000 });
        for (const c of res.Contents ?? []) out.push({ key: c.Key, lastModified: Date.parse(c.LastModified) });
        if (res.IsTruncated !== 'true' || out.length >= limit || !res.Contents?.length) break;
        marker = res.NextMarker || res.Contents[res.Contents.length - 1].Key;
      }
    } catch (e) {
      throw cosError('LIST', prefix, e);
    }
    return out.slice(0, limit);
  }
}

/** `Last-Modified` in ms (HTTP dates have whole seconds); undefined when absent or unreadable. */
function lastModifiedOf(h: Record<string, string | undefined>): number | undefined {
  const ms = Date.parse(h['last-modified'] ?? '');
  return Number.isNaN(ms) ? undefined : ms;
}

function standardOf(h: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STANDARD) {
    const v = h[name];
    if (v) out[name] = v;
  }
  return out;
}
