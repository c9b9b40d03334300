/**
 * What every workflow step is given: configuration and its derived timing, the ledger and the
 * objects of one bucket, the CCC API, the webhook, a logger and a clock. Production wires the COS,
 * CCC and webhook adapters in; unit tests wire in-memory ones and a fake clock.
 */
import type { Config } from '../core/config';
import { quotaDay } from '../core/zone';
import type { Timing } from '../core/timing';
import type { Logger } from '../runtime/log';
import type { IvrAudioApi } from '../sdk/ccc';
import type { WebhookPoster } from '../sdk/webhook';
import type { Ledger } from '../store/ledger';
import type { AudioObjects } from '../store/objects';

/** Time, injectable so that tests never sleep for real to reach a deadline. */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Resolves once `ms` have passed on this clock. */
  sleep(ms: number): Promise<void>;
}

/** The context of a workflow step: one bucket, one invocation (see the module comment). */
export interface Ctx {
  config: Config;
  timing: Timing;
  ledger: Ledger;
  objects: AudioObjects;
  api: IvrAudioApi;
  /** Posts to the report webhook (IVR_REPORT_WEBHOOK); never throws. */
  webhook: WebhookPoster;
  log: Logger;
  clock: Clock;
  /** This invocation's id: written into every ledger record it creates. */
  owner: string;
}

/** The current quota day (YYYY-MM-DD), by the context's clock in the configured offset from UTC. */
export const today = (ctx: Ctx): string => quotaDay(ctx.clock.now(), ctx.config.quotaUtcOffsetMinutes);
