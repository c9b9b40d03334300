/**
 * Letting go of large bodies. A Buffer that lived across an await sits in V8's old space, which a
 * function's small heap rarely collects, so the bodies of large files read one after another in
 * one invocation add up though each is let go: three 12 MiB WAVs converted in one event peaked at
 * 142 MB without a collection between them and 105 MB with one (`npm run bench`).
 */
import * as v8 from 'v8';
import * as vm from 'vm';

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection. Node has no API for it: V8's `gc` is exposed by its flag and taken
 * from a fresh context. Where that does not work, this does nothing.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn: unknown = vm.runInNewContext('gc');
      gc = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
