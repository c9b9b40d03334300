/**
 * ivr-upload: COS trigger → register each new mp3/wav as CCC IVR audio → result on the object.
 */
import type { Env } from '../../shared/core/config';
import { scfHandler, type Seams } from '../../shared/runtime/scf';
import { handleCosEvent } from '../../shared/workflow/upload';

export function createHandler(env: Env, seams: Seams = {}) {
  return scfHandler(env, 'ivr-upload', seams, async (runtime, event) => {
    const summary = await handleCosEvent(event, runtime);
    runtime.log.info('invocation done', { records: summary.records, counts: summary.counts });
    return summary;
  });
}
