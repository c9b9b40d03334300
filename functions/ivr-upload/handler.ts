/**
 * ivr-upload: COS trigger → register each new mp3/wav as CCC IVR audio → result on the object.
 */
import type { Env } from '../../shared/config';
import { createRuntime, type ScfContext, type Seams } from '../../shared/runtime';
import { handleCosEvent, type UploadSummary } from '../../shared/upload';

export function createHandler(env: Env, seams: Seams = {}) {
  const init = createRuntime(env, 'ivr-upload', seams);
  return async (event: unknown, context?: ScfContext): Promise<UploadSummary> => {
    if (!init.ok) {
      // Thrown, not returned: SCF retries the event, so nothing is lost once the variable is fixed.
      init.log.error('invocation refused: configuration invalid', { scfRequestId: context?.request_id, code: init.error.code, error: init.error.message });
      throw init.error;
    }
    const { runtime } = init;
    const log = runtime.log.child({ scfRequestId: context?.request_id });
    const summary = await handleCosEvent(event, { ...runtime, log });
    log.info('invocation done', { records: summary.records, counts: summary.counts });
    return summary;
  };
}
