/**
 * The SCF runtimes a deployment may ask for, and the Node version the bundles are built for.
 * `scripts/build.mjs` and both deploy paths read this one table, so the runtime in `.env`
 * (`SCF_RUNTIME`) and the esbuild target can never disagree.
 *
 * Accepted = documented by the deploy target AND able to run the bundles:
 * - The multi-scf component's published schema (serverless-components/tencent-multi-scf,
 *   `serverless.component.yml`, `inputs.runtime.allow`, version 0.3.14) lists Node runtimes up to
 *   `Nodejs16.13`; `Nodejs18.15`/`Nodejs20.15` are not in it, so `sls deploy` cannot promise them.
 * - `Nodejs12.16` and older are in the schema but cannot run the bundles (`crypto.randomUUID`
 *   needs Node 14.17+), and `Nodejs14.18` has never been run against them; the audio tooling the
 *   project plans needs Node 16 too (platform reference §8). So only `Nodejs16.13` remains.
 * When the component's schema gains a newer runtime, add one line here (and run the suite on it).
 */

/** SCF runtime name → esbuild `target` the bundles are built with. */
export const SCF_RUNTIMES = {
  'Nodejs16.13': 'node16.13',
} as const;

/** A runtime this project can be deployed on. */
export type ScfRuntime = keyof typeof SCF_RUNTIMES;

/** What a deployment uses when `SCF_RUNTIME` is empty or unset. */
export const DEFAULT_RUNTIME: ScfRuntime = 'Nodejs16.13';

/** Runtimes the multi-scf schema documents but this project refuses, with the reason. */
const REFUSED: Record<string, string> = {
  'Nodejs18.15': 'the multi-scf component schema (serverless.component.yml) does not list it',
  'Nodejs20.15': 'the multi-scf component schema (serverless.component.yml) does not list it',
  'Nodejs14.18': 'the bundles have never been run on Node 14',
  'Nodejs12.16': 'the bundles need Node 14.17+ (crypto.randomUUID)',
};

/** Whether `value` is a runtime this project deploys on. */
export function isScfRuntime(value: string): value is ScfRuntime {
  return Object.prototype.hasOwnProperty.call(SCF_RUNTIMES, value);
}

/**
 * The runtime named by `value` (empty or undefined = the default); throws a message naming
 * `SCF_RUNTIME`, the accepted values and why a documented-but-refused one is refused.
 */
export function parseRuntime(value: string | undefined): ScfRuntime {
  const v = (value ?? '').trim();
  if (v === '') return DEFAULT_RUNTIME;
  if (isScfRuntime(v)) return v;
  const why = REFUSED[v] ? ` (${REFUSED[v]})` : '';
  throw new Error(`SCF_RUNTIME must be one of ${Object.keys(SCF_RUNTIMES).join(', ')}; got "${v.slice(0, 40)}"${why}`);
}

/** The esbuild target for the runtime named by `value` (see {@link parseRuntime}). */
export function esbuildTarget(value: string | undefined): string {
  return SCF_RUNTIMES[parseRuntime(value)];
}
