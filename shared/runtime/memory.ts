/**
 * Letting go of large bodies. A Buffer that lived across an await sits in V8's old space, which a
 * function's small heap rarely collects, so the bodies of large files read one after another in
 * one invocation add up though each is let go: three 12 MiB WAVs converted in one event peaked at
 * 142 MB without a collection between them and 105 MB with one (`npm run bench`).
 */
import type * as V8 from 'v8';
import type * as VM from 'vm';

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection. Node has no API for it: V8's `gc` is exposed by its flag and taken
 * from a fresh context. Where that does not work, this does nothing.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      // Required here, not at the top: loading `v8` costs about 1.2 ms of every cold start
      // (measured on Node 20), and only an invocation with large bodies ever gets here.
      const v8 = require('v8') as typeof V8;
      const vm = require('vm') as typeof VM;
      v8.setFlagsFromString('--expose-gc');
      const fn: unknown = vm.runInNewContext('gc');
      gc = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
