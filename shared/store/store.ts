/**
 * The storage the ledger is kept in, reduced to what COS guarantees: read and write one key,
 * create a key only if it is absent (the one atomic operation), delete, and list a prefix — a
 * listing that may be late, so nothing that guards an invariant may be decided from it. Create
 * is atomic only on a bucket that never had versioning (see core/versioning.ts), which the store
 * can be asked about.
 */
import type { BucketVersioning } from '../core/versioning';

/** A key found by a listing, with the time its object was last written. */
export interface Listed {
  key: string;
  lastModified: number;
}

/** The ledger's storage (see the module comment): COS in production, {@link MemoryStore} in unit tests. */
export interface Store {
  /** The object's text, or undefined when it does not exist. */
  get(key: string): Promise<string | undefined>;
  /** Atomic create-if-absent: true when this call created it, false when it already existed. */
  create(key: string, body: string): Promise<boolean>;
  /** Blind write: last writer wins. Only for data where that is fine (hints, reports). */
  put(key: string, body: string, contentType?: string): Promise<void>;
  /** Deletes a key; a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes many keys in as few requests as the store allows. */
  deleteMany(keys: string[]): Promise<void>;
  /** Candidate keys under a prefix, in key order. Eventually consistent: may miss new keys or show deleted ones. */
  list(prefix: string, limit?: number): Promise<Listed[]>;
  /** The bucket's versioning: `create` is atomic only while it is `Never` (one request; the recovery pass asks once per quota day). */
  versioning(): Promise<BucketVersioning>;
}

/** A hook the in-memory store calls before each operation and after each write took effect (tests crash or fail a step there). */
export type StoreHook = (op: StoreOp, key: string, phase: 'before' | 'after') => void;

/** The store's operations, as {@link MemoryStore.ops} records them. */
export type StoreOp = 'get' | 'create' | 'put' | 'delete' | 'list' | 'versioning';

/** An in-memory store for unit tests of the workflow: the same contract, no server. */
export class MemoryStore implements Store {
  /** The records by key, with when each was written (a listing's `lastModified`). */
  readonly objects = new Map<string, { body: string; at: number }>();
  /** Every operation, in order, for cost and crash-point tests. */
  readonly ops: Array<{ op: string; key: string }> = [];
  /** Called around every operation: where a test crashes or fails a step. */
  hook?: StoreHook;
  /** The bucket's versioning as a test sets it: anything but `Never` makes `create` overwrite, as COS then does. */
  bucketVersioning: BucketVersioning = 'Never';

  constructor(private readonly now: () => number = Date.now) {}

  private touch(op: StoreOp, key: string): void {
    this.ops.push({ op, key });
    this.hook?.(op, key, 'before');
  }

  private done(op: 'create' | 'put' | 'delete', key: string): void {
    this.hook?.(op, key, 'after');
  }

  async get(key: string): Promise<string | undefined> {
    this.touch('get', key);
    return this.objects.get(key)?.body;
  }

  async create(key: string, body: string): Promise<boolean> {
    this.touch('create', key);
    // COS ignores forbid-overwrite on a bucket that ever had versioning: the create overwrites.
    if (this.objects.has(key) && this.bucketVersioning === 'Never') return false;
    this.objects.set(key, { body, at: this.now() });
    this.done('create', key);
    return true;
  }

  async put(key: string, body: string): Promise<void> {
    this.touch('put', key);
    this.objects.set(key, { body, at: this.now() });
    this.done('put', key);
  }

  async delete(key: string): Promise<void> {
    this.touch('delete', key);
    this.objects.delete(key);
    this.done('delete', key);
  }

  async deleteMany(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.touch('delete', keys[0]);
    for (const k of keys) this.objects.delete(k);
    this.done('delete', keys[0]);
  }

  async versioning(): Promise<BucketVersioning> {
    this.touch('versioning', '');
    return this.bucketVersioning;
  }

  async list(prefix: string, limit = Infinity): Promise<Listed[]> {
    this.touch('list', prefix);
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([key, v]) => ({ key, lastModified: v.at }));
  }
}
