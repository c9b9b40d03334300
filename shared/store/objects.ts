/**
 * The operators' audio objects, as the workflow sees them: read one version, write our result
 * into its metadata, hand CCC a signed URL, and keep a converted copy. The COS adapter implements
 * it; unit tests use the in-memory one.
 */
import { createHash } from 'crypto';
import { objectMoved } from '../core/errors';

/** One read of an object: its version, its headers and (the start of) its bytes. */
export interface ObjectRead {
  etag: string;
  /** The whole object's size, even when `body` holds only its start. */
  size: number;
  standard: Record<string, string>;
  /** User metadata, names lower-cased without `x-cos-meta-`. */
  meta: Record<string, string>;
  body: Buffer;
  /** When the object was last written (an upload, or one of our metadata writes), ms; undefined when unknown. */
  lastModified?: number;
}

/** The operations the workflow needs on the operators' audio objects (see the module comment). */
export interface AudioObjects {
  /** Reads at most `maxBytes` from the start; undefined when the object does not exist. */
  read(key: string, maxBytes: number): Promise<ObjectRead | undefined>;
  /** The object as it is now, without its body (a HEAD); undefined when it does not exist. */
  stat(key: string): Promise<Omit<ObjectRead, 'body' | 'size'> | undefined>;
  /**
   * Writes `standard` and `meta` (the object's own user metadata with our `ivr-*` fields) onto
   * version `etag`, as the object's whole set of headers: what is not given is dropped. Throws
   * `ObjectChanged` when the object is no longer that version, `ObjectNotFound` when it is gone,
   * `MetadataTooLarge` when the object's own metadata leaves no room for the result.
   */
  writeMetadata(key: string, etag: string, standard: Record<string, string>, meta: Record<string, string>): Promise<void>;
  /** A temporary signed GET URL. Its query is a credential: never log it. */
  signedUrl(key: string, expiresSeconds: number): string;
  /** Stores bytes we produced (a converted copy) under the ledger prefix. */
  putBytes(key: string, body: Buffer, contentType: string): Promise<void>;
}

interface MemoryObject {
  body: Buffer;
  etag: string;
  standard: Record<string, string>;
  meta: Record<string, string>;
  lastModified: number;
}

/** In-memory objects for unit tests, on the test's clock. */
export class MemoryObjects implements AudioObjects {
  /** The objects by key, for tests to look into or change behind the workflow's back. */
  readonly objects = new Map<string, MemoryObject>();
  /** Every metadata write, in order: what a test counts to tell a write saved from one made. */
  readonly writes: Array<{ key: string; meta: Record<string, string> }> = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Uploads as an operator would (a new version: its ETag is the body's MD5, as COS gives a simple upload). */
  putObject(key: string, body: Buffer, meta: Record<string, string> = {}, contentType = 'audio/mpeg'): MemoryObject {
    const o = { body, etag: createHash('md5').update(body).digest('hex'), standard: { 'content-type': contentType }, meta, lastModified: this.now() };
    this.objects.set(key, o);
    return o;
  }

  async read(key: string, maxBytes: number): Promise<ObjectRead | undefined> {
    const o = this.objects.get(key);
    if (!o) return undefined;
    return { etag: o.etag, size: o.body.length, standard: { ...o.standard }, meta: { ...o.meta }, body: o.body.subarray(0, maxBytes), lastModified: o.lastModified };
  }

  async stat(key: string): Promise<Omit<ObjectRead, 'body' | 'size'> | undefined> {
    const o = this.objects.get(key);
    return o && { etag: o.etag, standard: { ...o.standard }, meta: { ...o.meta }, lastModified: o.lastModified };
  }

  async writeMetadata(key: string, etag: string, standard: Record<string, string>, meta: Record<string, string>): Promise<void> {
    const o = this.objects.get(key);
    if (!o) throw objectMoved('ObjectNotFound', key);
    if (o.etag !== etag) throw objectMoved('ObjectChanged', key);
    o.standard = { ...standard };
    o.meta = { ...meta };
    // A copy onto itself is a write: COS moves Last-Modified too.
    o.lastModified = this.now();
    this.writes.push({ key, meta: { ...meta } });
  }

  signedUrl(key: string): string {
    return `memory://objects/${encodeURIComponent(key)}?signed`;
  }

  async putBytes(key: string, body: Buffer, contentType: string): Promise<void> {
    this.putObject(key, body, {}, contentType);
  }
}
