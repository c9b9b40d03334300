/**
 * The deploy's check of the bucket, on both deploy paths, before anything is built or changed: its
 * versioning, read with the deploy user's key (GET Bucket versioning, one request). COS ignores
 * `x-cos-forbid-overwrite` on a bucket that ever had versioning enabled, suspended or not, and the
 * ledger coordinates with nothing else (shared/core/versioning.ts): such a bucket is refused. A
 * bucket that does not exist, or a key that may not read its versioning, fails the deploy too: a
 * bucket that cannot be checked is not taken for a good one.
 */
import { parseEndpoint, type Endpoint } from '../../shared/core/config';
import { IvrError } from '../../shared/core/errors';
import { versioningAlert } from '../../shared/core/versioning';
import { CosBucket, createCosClient } from '../../shared/sdk/cos';
import { DeployConfigError, type DeployCredentials, type DeploySettings } from '../lib/deploy-config';

/** Parses `COS_ENDPOINT` from `.env` (empty = the real endpoint); tests point the check at the fake COS with it. */
export function cosEndpoint(raw: string | undefined): Endpoint | undefined {
  return raw && raw.trim() ? parseEndpoint('COS_ENDPOINT', raw.trim()) : undefined;
}

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
 * Checks `settings.bucket` in `settings.region` with the deploy user's `credentials`, over COS
 * (or `COS_ENDPOINT` of `values`, the `.env` read). Throws a {@link DeployConfigError} (printed as
 * `refused: …`) for a bucket with versioning enabled or suspended, and an Error (printed as
 * `failed: …`) when COS does not answer what it is.
 */
export async function checkBucket(credentials: DeployCredentials, settings: Pick<DeploySettings, 'bucket' | 'region'>, values: Record<string, string>): Promise<void> {
  const endpoint = cosEndpoint(values.COS_ENDPOINT);
  const cos = createCosClient({ credentials: { secretId: credentials.secretId, secretKey: credentials.secretKey, sessionToken: credentials.token }, cosEndpoint: endpoint });
  directly(cos);
  const bucket = new CosBucket(cos, settings.bucket, settings.region, endpoint?.protocol ?? 'https:');
  let versioning;
  try {
    versioning = await bucket.versioning();
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    throw new Error(
      `${e.message}; nothing was changed. The deploy reads the bucket's versioning first: check IVR_BUCKET and REGION in .env, and that the deploy user's policy grants cos:GetBucketVersioning on the bucket (npm run policy -- --deploy-user)`,
    );
  }
  const alert = versioningAlert(settings.bucket, versioning);
  if (alert) throw new DeployConfigError([`${alert.message} (README → Deploy, step 2); nothing was changed`]);
}
