/**
 * quota-report: the recovery pass, on a timer (every 5 minutes by default) → finish what crashes
 * left, release deferred files, refresh review states, and once per quota day write the report.
 * Wiring only: the workflow lives in shared/workflow/recovery.ts.
 */
import { requireSetting, type Env } from '../../shared/core/config';
import { IvrError } from '../../shared/core/errors';
import { scfHandler, type Seams } from '../../shared/wiring/scf';
import { runRecovery } from '../../shared/workflow/recovery';

/** The quota-report handler for `env` (`process.env` on SCF); `seams` are for tests (a clock). */
export function createHandler(env: Env, seams: Seams = {}) {
  return scfHandler(env, 'quota-report', seams, (runtime, event) => {
    const bucket = requireSetting(runtime.config.bucket, 'IVR_BUCKET', 'by quota-report (the bucket to recover and report on)');
    const ctx = runtime.context(bucket, runtime.config.region);
    if (ctx instanceof IvrError) throw ctx;
    return runRecovery(ctx, event);
  });
}
