/**
 * Thin typed wrapper around cos-nodejs-sdk-v5 for one bucket: the calls the functions make and
 * nothing else, with SDK errors turned into IvrErrors that keep COS's code and request id.
 */
import COS from 'cos-nodejs-sdk-v5';
import type { Config } from '../core/config';
import { IvrError } from '../core/errors';
import { userMetadataFromHeaders, META_PREFIX } from '../core/metadata';

export interface ObjectHead {
  etag: string;
  size: number;
  /** Standard headers a metadata self-copy must resend or lose. */
  standard: StandardHeaders;
  /** User metadata, names lower-cased without `x-cos-meta-`. */
  meta: Record<string, string>;
}

export interface StandardHeaders {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  expires?: string;
}

/** The narrow storage interface the ledger needs; the COS bucket adapter implements it. */
export interface BlobStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, body: string, contentType?: string): Promise<void>;
  /** Atomic create-if-absent; false when the key already exists. */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  list(prefix: string, limit?: number): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export function cosHost(bucket: string, region: string): string {
  return `${bucket}.cos.${region}.myqcloud.com`;
}

export function createCosClient(config: Config): COS {
  const endpoint = config.cosEndpoint;
  return new COS({
    SecretId: config.credentials.secretId,
    SecretKey: config.credentials.secretKey,
    SecurityToken: config.credentials.sessionToken,
    KeepAlive: true,
    Timeout: 30000,
    ...(endpoint
      ? {
          // Connect to the given address but keep the real Host, so the signature scope is real.
          Ip: `${endpoint.hostname}:${endpoint.port}`,
          Protocol: endpoint.protocol,
          AutoSwitchHost: false,
        }
      : { Protocol: 'https:' }),
  });
}

type CosErr = { statusCode?: number; code?: string; message?: string; error?: unknown; headers?: Record<string, string> };

function cosError(op: string, key: string, e: unknown): IvrError {
  const err = (e ?? {}) as CosErr;
  const status = err.statusCode;
  const code = err.code && !/^\d+$/.test(err.code) ? err.code : status ? `HTTP${status}` : 'NetworkError';
  const requestId = err.headers?.['x-cos-request-id'];
  // 5xx and network errors have already been retried by the SDK; a later run may still succeed.
  const transient = status === undefined || status >= 500 || status === 429 || code === 'NetworkError';
  return new IvrError('StorageError', `COS ${op} ${key} failed: ${code}${err.message ? ` (${err.message})` : ''}`, { transient, requestId });
}

const isNotFound = (e: unknown) => (e as CosErr | undefined)?.statusCode === 404;

export class CosBucket implements BlobStore {
  constructor(
    private readonly cos: COS,
    readonly bucket: string,
    readonly region: string,
    private readonly protocol: 'http:' | 'https:',
  ) {}

  private loc(key: string) {
    return { Bucket: this.bucket, Region: this.region, Key: key };
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const res = await this.cos.headObject(this.loc(key));
      const h = res.headers as Record<string, string | undefined>;
      return {
        etag: (h.etag ?? '').replace(/"/g, ''),
        size: Number(h['content-length'] ?? 0),
        standard: {
          contentType: h['content-type'],
          cacheControl: h['cache-control'],
          contentDisposition: h['content-disposition'],
          contentEncoding: h['content-encoding'],
          expires: h.expires,
        },
        meta: userMetadataFromHeaders(h),
      };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw cosError('HEAD', key, e);
    }
  }

  /** First bytes of one object version; `etag` pins the version we decided on. */
  async readPrefix(key: string, bytes: number, etag: string): Promise<Buffer> {
    try {
      const res = await this.cos.getObject({ ...this.loc(key), Range: `bytes=0-${bytes - 1}`, IfMatch: `"${etag}"` });
      return Buffer.isBuffer(res.Body) ? res.Body : Buffer.from(String(res.Body));
    } catch (e) {
      if (isNotFound(e)) throw new IvrError('ObjectNotFound', `the object ${key} was deleted before it could be read`);
      if ((e as CosErr).statusCode === 412) throw new IvrError('ObjectChanged', `the object ${key} was overwritten while being processed; the new version is handled by its own event`);
      throw cosError('GET', key, e);
    }
  }

  /** A temporary signed GET URL; its query is a credential and must never be logged. */
  signedUrl(key: string, expiresSeconds: number): string {
    return this.cos.getObjectUrl({ ...this.loc(key), Sign: true, Expires: expiresSeconds, Protocol: this.protocol }, () => undefined);
  }

  /**
   * Rewrites user metadata with a self-copy. `Replaced` keeps only what the request carries, so
   * every standard header and all user metadata are resent. `If-Match` on the source stops us from
   * stamping a result onto content that changed since we read it.
   */
  async replaceMetadata(key: string, head: ObjectHead, meta: Record<string, string>): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(meta)) headers[META_PREFIX + name] = value;
    const s = head.standard;
    try {
      await this.cos.putObjectCopy({
        ...this.loc(key),
        CopySource: `${cosHost(this.bucket, this.region)}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
        MetadataDirective: 'Replaced',
        CopySourceIfMatch: `"${head.etag}"`,
        ContentType: s.contentType,
        CacheControl: s.cacheControl,
        ContentDisposition: s.contentDisposition,
        ContentEncoding: s.contentEncoding,
        Expires: s.expires,
        Headers: headers,
      } as COS.PutObjectCopyParams);
    } catch (e) {
      if (isNotFound(e)) throw new IvrError('ObjectNotFound', `the object ${key} was deleted before its status could be written`);
      if ((e as CosErr).statusCode === 412) throw new IvrError('ObjectChanged', `the object ${key} was overwritten before its status could be written`);
      throw cosError('COPY', key, e);
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const res = await this.cos.getObject(this.loc(key));
      return Buffer.isBuffer(res.Body) ? res.Body.toString('utf8') : String(res.Body);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw cosError('GET', key, e);
    }
  }

  async put(key: string, body: string, contentType = 'application/json'): Promise<void> {
    try {
      await this.cos.putObject({ ...this.loc(key), Body: Buffer.from(body), ContentType: contentType });
    } catch (e) {
      throw cosError('PUT', key, e);
    }
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    try {
      await this.cos.putObject({ ...this.loc(key), Body: Buffer.from(body), ContentType: 'application/json', Headers: { 'x-cos-forbid-overwrite': 'true' } });
      return true;
    } catch (e) {
      if ((e as CosErr).statusCode === 409) return false;
      throw cosError('PUT', key, e);
    }
  }

  async list(prefix: string, limit = Infinity): Promise<string[]> {
    const keys: string[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const res = await this.cos.getBucket({ Bucket: this.bucket, Region: this.region, Prefix: prefix, Marker: marker, MaxKeys: 1000 });
        for (const c of res.Contents ?? []) keys.push(c.Key);
        if (res.IsTruncated !== 'true' || keys.length >= limit || !res.Contents?.length) break;
        marker = res.NextMarker || res.Contents[res.Contents.length - 1].Key;
      }
    } catch (e) {
      throw cosError('LIST', prefix, e);
    }
    return keys.slice(0, limit);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.cos.deleteObject(this.loc(key));
    } catch (e) {
      if (!isNotFound(e)) throw cosError('DELETE', key, e);
    }
  }
}
