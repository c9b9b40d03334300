/**
 * quota-report: daily timer → release deferred files into the new quota day, refresh review
 * states, and write the quota report (log line, JSON and HTML page in the bucket, webhook).
 */
import { requireSetting, type Env } from '../../shared/core/config';
import { runDaily } from '../../shared/workflow/daily';
import { scfHandler, type Seams } from '../../shared/runtime/scf';

export function createHandler(env: Env, seams: Seams = {}) {
  return scfHandler(env, 'quota-report', seams, (runtime, event) => {
    const bucket = requireSetting(runtime.config.bucket, 'IVR_BUCKET', 'by quota-report (the bucket to report on)');
    const region = requireSetting(runtime.config.region, 'TENCENTCLOUD_REGION', 'by quota-report (the bucket region)');
    return runDaily(event, runtime, bucket, region);
  });
}
