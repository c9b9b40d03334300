/**
 * `npm run local -- ccc <what>`: what the local CCC can be told to do wrong, so that an operator
 * can see on a laptop what a file shows when the real one does it (`retrying`, a refusal, a
 * rejected review, a day filled from elsewhere). All but `quota` take effect once, on the next call
 * or file; `quota`'s files stay. The stack applies each to its fake CCC (see main.ts), which
 * answers exactly as in the tests.
 */
import type { FakeCcc } from './fakes/fake-ccc';

/** One thing the local CCC can be told to do, with what the operator then sees. */
export interface CccFaultSpec {
  /** What the local CCC does. */
  does: string;
  /** What the file then shows, and what happens next. */
  then: string;
  /** Makes the fake do it; returns a note when there was nothing to do (the day is full already). */
  apply(ccc: FakeCcc, sdkAppId: number): string | undefined;
}

/** CCC's own words for an internal error (its common error's message). */
const INTERNAL_ERROR = 'An internal error has occurred. Retry your request, but if the problem persists, contact us.';

/** Every fault, in the order `--help` lists them. */
export const CCC_FAULTS = {
  error: {
    does: 'the next UploadIvrAudio call answers InternalError and registers nothing',
    then: "its files show retrying (InternalError); once the call's lifetime has passed (30 s here; at the next recovery pass when a pass made the call), CCC is asked about them and they are sent again",
    apply: (ccc) => void ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError', message: INTERNAL_ERROR }),
  },
  lost: {
    does: 'the next UploadIvrAudio call registers its files, but its answer is lost (the connection drops)',
    then: "its files show retrying (OutcomeUnknown); once the call's lifetime has passed (30 s here; at the next recovery pass when a pass made the call), CCC is asked and they are taken as registered, never sent twice",
    apply: (ccc) => void ccc.inject({ action: 'UploadIvrAudio', resetAfterCommit: true }),
  },
  refuse: {
    does: 'the next file CCC is sent is refused (listed in FailedFileList), whatever its content',
    then: "it shows failed (UploadRejected) with CCC's reason, and keeps its quota slot for the day",
    apply: (ccc) => void ccc.refuseNextFile('file refused by the local CCC (npm run local -- ccc refuse)'),
  },
  reject: {
    does: 'the next file registered is rejected at review instead of approved',
    then: 'once its review comes (--auto-review-ms), the recovery pass sets ivr-review to rejected; npm run status and the report list it as needing action',
    apply: (ccc) => void ccc.rejectNextReview(),
  },
  quota: {
    does: "files registered outside this product (as from the CCC console) fill today's quota on the local CCC",
    then: 'the next call is refused with FailedOperation.UploadFileOverflow, and its files are deferred to the next quota day (npm run local -- next-day releases them)',
    apply: (ccc, sdkAppId) => (ccc.fillDay(sdkAppId) === 0 ? "today's quota is full already" : undefined),
  },
} as const satisfies Record<string, CccFaultSpec>;

/** A name of {@link CCC_FAULTS}. */
export type CccFaultName = keyof typeof CCC_FAULTS;

/** Whether `name` is one of {@link CCC_FAULTS}. */
export const isCccFault = (name: string): name is CccFaultName => Object.prototype.hasOwnProperty.call(CCC_FAULTS, name);
