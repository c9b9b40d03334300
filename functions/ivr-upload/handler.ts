/**
 * ivr-upload: COS trigger → take each new mp3/wav in, and make sure a sender registers it as CCC
 * IVR audio → the outcome on the object. Wiring only: the workflow lives in shared/workflow.
 */
import { randomUUID } from 'crypto';
import type { Env } from '../../shared/core/config';
import type { IvrError } from '../../shared/core/errors';
import { scfHandler, type Seams } from '../../shared/wiring/scf';
import type { Ctx } from '../../shared/workflow/context';
import { handleCosEvent } from '../../shared/workflow/upload';

/** The ivr-upload handler for `env` (`process.env` on SCF); `seams` are for tests (a clock). */
export function createHandler(env: Env, seams: Seams = {}) {
  return scfHandler(env, 'ivr-upload', seams, async (runtime, event) => {
    // One owner id and one context per bucket for the whole invocation.
    const owner = randomUUID();
    const contexts = new Map<string, Ctx | IvrError>();
    const contextFor = (bucket: string, region: string | undefined) => {
      const id = `${bucket}@${region ?? ''}`;
      if (!contexts.has(id)) contexts.set(id, runtime.context(bucket, region, owner));
      return contexts.get(id)!;
    };
    const summary = await handleCosEvent(event, contextFor, runtime.log);
    runtime.log.info('invocation done', { records: summary.records, counts: summary.counts });
    return summary;
  });
}
