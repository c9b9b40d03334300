/**
 * quota-report: daily timer → release deferred files into the new quota day, refresh review
 * states, and write the quota report (log line, JSON and HTML page in the bucket, webhook).
 */
import { requireSetting, type Env } from '../../shared/config';
import { runDaily, type DailyResult } from '../../shared/daily';
import { createRuntime, type ScfContext, type Seams } from '../../shared/runtime';

export function createHandler(env: Env, seams: Seams = {}) {
  const init = createRuntime(env, 'quota-report', seams);
  return async (event: unknown, context?: ScfContext): Promise<DailyResult> => {
    if (!init.ok) {
      init.log.error('invocation refused: configuration invalid', { scfRequestId: context?.request_id, code: init.error.code, error: init.error.message });
      throw init.error;
    }
    const { runtime } = init;
    const bucket = requireSetting(runtime.config.bucket, 'IVR_BUCKET', 'by quota-report (the bucket to report on)');
    const region = requireSetting(runtime.config.region, 'TENCENTCLOUD_REGION', 'by quota-report (the bucket region)');
    return runDaily(event, { ...runtime, log: runtime.log.child({ scfRequestId: context?.request_id }) }, bucket, region);
  };
}
