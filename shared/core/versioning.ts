/**
 * Bucket versioning, as far as this product is concerned. Everything in the ledger is coordinated
 * by one atomic operation, a PUT with `x-cos-forbid-overwrite` (create-if-absent), and COS ignores
 * that header on a bucket that ever had versioning enabled, suspended since or not; versioning can
 * never be switched off again, only suspended (as design notes citing COS's PUT Object page,
 * cloud.tencent.com/document/product/436/7749, say; not found in Tencent's own text). On such a
 * bucket two instances both "win" the same name: a file can be registered in CCC twice, two
 * senders call at once, the quota count goes wrong, all without an error. So the deploy refuses
 * such a bucket, the recovery pass checks once per quota day, and a sender that knows makes no
 * call. Pure decisions here.
 */

/** Every {@link BucketVersioning}, for parsing what the ledger holds. */
export const BUCKET_VERSIONING = ['Never', 'Enabled', 'Suspended'] as const;
/** A bucket's versioning: `Never` when GET Bucket versioning shows no `Status` (it was never set). */
export type BucketVersioning = (typeof BUCKET_VERSIONING)[number];

/**
 * The versioning `VersioningConfiguration.Status` says (as cos-nodejs-sdk-v5 parses GET Bucket
 * versioning): none is `Never`; undefined for a value COS does not document, which the caller
 * treats as an answer it cannot read (never as "not versioned").
 */
export function versioningFromStatus(status: unknown): BucketVersioning | undefined {
  if (status === undefined || status === null || status === '') return 'Never';
  return status === 'Enabled' || status === 'Suspended' ? status : undefined;
}

/** Whether create-if-absent still holds on a bucket with this versioning: only if it never had any. */
export const createIfAbsentHolds = (v: BucketVersioning): boolean => v === 'Never';

/** What an operator is told about a bucket whose versioning breaks the ledger, the same everywhere: log, results, report, objects. */
export interface VersioningAlert {
  code: 'BucketVersioned';
  status: 'Enabled' | 'Suspended';
  message: string;
}

/**
 * The alert for `bucket` with versioning `v`, or undefined when create-if-absent holds. The message
 * says what happens and what to do; the deploy prints it as its refusal.
 */
export function versioningAlert(bucket: string, v: BucketVersioning): VersioningAlert | undefined {
  if (v === 'Never') return undefined;
  const state = v === 'Enabled' ? 'versioning enabled' : 'versioning suspended (so it was enabled once)';
  return {
    code: 'BucketVersioned',
    status: v,
    message:
      `bucket ${bucket} has ${state}: COS then ignores x-cos-forbid-overwrite, the one atomic operation the ledger coordinates with, ` +
      'so a file could be registered in CCC twice and the daily quota counted wrong. ' +
      'Versioning cannot be switched off once enabled: create a bucket that never had it, set IVR_BUCKET to it, deploy again and upload the prompts there',
  };
}

/** The latest check of the bucket's versioning: the quota day it was made on, and what it found. */
export interface VersioningCheck {
  day: string;
  versioning: BucketVersioning;
}

/** Whether the recovery pass checks the bucket's versioning now: once per quota day, when no check of `today` is known. */
export const versioningCheckDue = (last: VersioningCheck | undefined, today: string): boolean => last?.day !== today;

/**
 * The check an entry carries, from its predecessor's (`prev`) and its appender's (`ours`): two
 * recovery passes that both found the check due append one after the other, and a sender carries
 * its check for its whole term (across midnight too), so `ours` may be the older one. Versioning
 * never goes back to `Never`: a check that found it stays, dated by the later of the two; else
 * the later check stands.
 */
export function mergedCheck(prev: VersioningCheck | undefined, ours: VersioningCheck | undefined): VersioningCheck | undefined {
  if (!prev || !ours) return ours ?? prev;
  const day = prev.day > ours.day ? prev.day : ours.day;
  if (ours.versioning !== 'Never') return { day, versioning: ours.versioning };
  if (prev.versioning !== 'Never') return { day, versioning: prev.versioning };
  return prev.day > ours.day ? prev : ours;
}
