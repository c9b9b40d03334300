/**
 * The deploy's check of the bucket, on both deploy paths, before anything is built or changed: its
 * versioning, read with the deploy user's key (GET Bucket versioning, one request). COS ignores
 * `x-cos-forbid-overwrite` on a bucket that ever had versioning enabled, suspended or not, and the
 * ledger coordinates with nothing else (shared/core/versioning.ts): such a bucket is refused. A
 * bucket that does not exist, or a key that may not read its versioning, fails the deploy too: a
 * bucket that cannot be checked is not taken for a good one.
 */
import type { Endpoint } from '../../shared/core/config';
import { IvrError } from '../../shared/core/errors';
import { versioningAlert, type BucketVersioning } from '../../shared/core/versioning';
import { CREDENTIAL_REFUSALS } from '../../shared/core/storage';
import { CosBucket, cosFailure, cosHost, createCosClient } from '../../shared/sdk/cos';
import { DeployConfigError, endpointOverride, type DeployCredentials, type DeploySettings } from '../lib/deploy-config';

/**
 * Makes `cos` connect directly, as every SCF call of the deploy does (scripts/deploy/scf.ts gives
 * its client an agent of its own): run from the sources, the COS SDK sends its requests through
 * cos-request, which otherwise takes a proxy from HTTPS_PROXY/HTTP_PROXY in the shell (a proxy
 * tool's variable, often stale), and the deploy would fail on its first call while the rest of it
 * never uses that proxy. The SDK hands every request's options to `before-send` listeners just
 * before it sends them; cos-request looks the proxy up only when the options have none.
 */
function directly(cos: ReturnType<typeof createCosClient>): void {
  cos.on('before-send', (opt: { proxy?: unknown }) => {
    opt.proxy = null;
  });
}

/**
 * What to fix when the check failed with COS's `code` (`answered`: COS sent an answer at all). The
 * check is the deploy's first call, so it is where a wrong key, a bucket in another region or a
 * policy without the new action shows up first: each gets its own fix, not a list of guesses.
 */
export function bucketCheckFix({ code, answered, signatureExpired }: ReturnType<typeof cosFailure>, s: Pick<DeploySettings, 'bucket' | 'region' | 'appId'>, endpoint: Endpoint | undefined, env: Record<string, string | undefined> = process.env): string {
  const host = cosHost(s.bucket, s.region);
  // Named, never printed: a proxy URL may carry a user name and password.
  const proxyVar = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].find((v) => env[v]);
  const proxy = proxyVar ? ` (directly: ${proxyVar} is set in this shell, and the deploy does not use a proxy)` : '';
  // REGION first: a misspelt one passes its shape check and its host does not exist.
  if (!answered) return `could not reach ${host}${endpoint ? ` (at ${endpoint.hostname}:${endpoint.port})` : ''}${proxy}: check REGION in .env (${s.region}: a Tencent Cloud region, spelt as in the COS console) and this machine's connection to COS`;
  // The one credential refusal whose fix is not the key.
  // Expired: signed on a clock behind COS's (the SDK corrects that from COS's Date header, so this
  // is a clock too far off, or a Date header some proxy on the way replaced).
  if (code === 'RequestTimeTooSkewed' || signatureExpired) return "COS says this machine's clock is off: set it right (automatic time) and deploy again";
  if (CREDENTIAL_REFUSALS.has(code)) return 'COS refused the deploy key: check TENCENT_SECRET_ID, TENCENT_SECRET_KEY and TENCENT_TOKEN in .env (the token only with a temporary key, and it expires)';
  if (code === 'NoSuchBucket') return `there is no bucket ${s.bucket} in ${s.region}: check IVR_BUCKET and REGION in .env (the bucket must be in REGION, where the functions and their COS trigger go)`;
  if (code === 'AccessDenied') {
    return (
      `the deploy user may not read the bucket's versioning: its CAM policy must grant cos:GetBucketVersioning on qcs::cos:${s.region}:uid/${s.appId}:${s.bucket}/* ` +
      '(npm run policy -- --deploy-user prints the whole policy, with --sls for npm run deploy; a policy from before this check lacks it); if it does, IVR_BUCKET may be a bucket of another account'
    );
  }
  return "the deploy reads the bucket's versioning first: check IVR_BUCKET and REGION in .env, and that the deploy user's policy grants cos:GetBucketVersioning on the bucket (npm run policy -- --deploy-user)";
}

/**
 * Checks `settings.bucket` in `settings.region` with the deploy user's `credentials`, over COS
 * (or `COS_ENDPOINT` of `values`, the `.env` read). Throws a {@link DeployConfigError} (printed as
 * `refused: …`) for a bucket with versioning enabled or suspended, and an Error (printed as
 * `failed: …`, with COS's RequestId and what to fix) when COS does not answer what it is.
 */
export async function checkBucket(credentials: DeployCredentials, settings: Pick<DeploySettings, 'bucket' | 'region' | 'appId'>, values: Record<string, string>): Promise<void> {
  const endpoint = endpointOverride(values, 'COS_ENDPOINT');
  const cos = createCosClient({ credentials: { secretId: credentials.secretId, secretKey: credentials.secretKey, sessionToken: credentials.token }, cosEndpoint: endpoint }, { backupHost: false });
  directly(cos);
  const bucket = new CosBucket(cos, settings.bucket, settings.region, endpoint?.protocol ?? 'https:');
  let versioning: BucketVersioning;
  try {
    versioning = await bucket.versioning();
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    const failure = cosFailure(e.cause);
    const requestId = e.requestId ? ` (RequestId ${e.requestId})` : '';
    const fix = bucketCheckFix(failure, settings, endpoint);
    throw new Error(`${e.message}${requestId}; nothing was changed. ${fix[0].toUpperCase()}${fix.slice(1)}`, { cause: e });
  }
  const alert = versioningAlert(settings.bucket, versioning);
  if (alert) throw new DeployConfigError([`${alert.message} (README → Deploy, step 2); nothing was changed`]);
}
