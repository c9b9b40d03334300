/**
 * `npm run deploy:api` / `npm run remove:api`: the whole flow (read .env, build, zip, observe,
 * plan, print, apply), with time, output and the build injected so tests drive it in-process
 * against the fake SCF. Exit codes: 0 done (or dry run printed), 1 refused or failed.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { DeployConfigError, endpointOverride, loadCredentials, loadDeployEnv, loadDeploySettings, deployProblems, ROOT, deploySecrets, shellOverrideNote, type DeploySettings } from '../lib/deploy-config';
import { desiredState } from '../lib/deploy-spec';
import { checkBucket } from './bucket';
import { applyPlan, applyRemove, observe, withTransientRetries, type DeployIo } from './execute';
import { formatPlan, formatRemove, planDeploy, planIsEmpty, planRemove } from './plan';
import { createScfApi, createScfClient, type ScfApi } from './scf';
import { zipDirectory } from './zip';
import { redactWith } from '../../shared/runtime/log';

/** Options of one run. */
export interface ApiDeployOptions {
  command: 'deploy' | 'remove';
  dryRun: boolean;
  /** The `.env` to read (default: the repository's). */
  envFile?: string;
  /** Overrides `.env` like a shell export does (default: process.env). */
  processEnv?: Record<string, string | undefined>;
  /** Build the package first (default true). */
  build?: boolean;
  /** Builds dist/package for a runtime (default: node scripts/build.mjs with SCF_RUNTIME set). */
  buildPackage?: (settings: DeploySettings, io: DeployIo) => Promise<void>;
  /** The package to zip (default dist/package). */
  packageDir?: string;
  /** SCF request timeout, seconds. */
  reqTimeoutSeconds?: number;
  /** For tests: use this API instead of the SDK client built from .env. */
  api?: ScfApi;
  io: DeployIo;
}

/** An output sink that can never print a secret: any secret value, signature or signed-URL query is masked before writing. */
export function redactingIo(io: DeployIo, secrets: Array<string | undefined>): DeployIo {
  const values = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return {
    ...io,
    out(line) {
      io.out(redactWith(line, values));
    },
  };
}

/** Builds dist/package with the runtime's Node target (scripts/build.mjs reads SCF_RUNTIME). */
export function buildWithNode(settings: DeploySettings, io: DeployIo): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, env: { PATH: process.env.PATH, SCF_RUNTIME: settings.runtime }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      for (const line of output.trim().split('\n')) if (line) io.out(line);
      if (code === 0) resolve();
      else reject(new Error(`npm run build failed (exit ${code})`));
    });
  });
}

/** Runs deploy:api or remove:api. Never throws; returns the exit code. */
export async function runApiDeploy(opts: ApiDeployOptions): Promise<number> {
  const processEnv = opts.processEnv ?? process.env;
  let io = opts.io;
  try {
    const envFile = opts.envFile ?? path.join(ROOT, '.env');
    const { values, fileValues } = loadDeployEnv(envFile, processEnv);
    io = redactingIo(opts.io, deploySecrets(values));
    const note = shellOverrideNote(fileValues, processEnv, envFile);
    if (note) io.out(note);
    const credentials = loadCredentials(values);
    const settings = loadDeploySettings(values);
    const deployOnly = opts.command === 'deploy' ? deployProblems(values) : [];
    if (deployOnly.length > 0) throw new DeployConfigError(deployOnly);
    const desired = desiredState(settings);
    const api = withTransientRetries(opts.api ?? createScfApi(createScfClient(credentials, settings.region, endpointOverride(values, 'SCF_ENDPOINT'), opts.reqTimeoutSeconds)), io);
    const mode = opts.dryRun ? 'dry run: nothing will be changed' : 'applying';
    io.out(`ivr-audio-sync ${opts.command}:api, region ${settings.region}, stage ${settings.stage} (${mode})`);

    if (opts.command === 'remove') {
      const steps = planRemove(desired, await observe(api, desired));
      for (const l of formatRemove(steps)) io.out(l);
      if (opts.dryRun) return dryRunDone(io);
      await applyRemove(api, steps, io);
      io.out(steps.some((s) => s.action === 'delete') ? 'removed; the bucket, its objects and the ledger stay' : 'nothing to remove');
      return 0;
    }

    // Before the build and the plan (also for a dry run): a bucket that ever had versioning is refused.
    await checkBucket(credentials, settings, values);
    if (opts.build !== false) await (opts.buildPackage ?? buildWithNode)(settings, io);
    const pkg = zipDirectory(opts.packageDir ?? path.join(ROOT, 'dist', 'package'));
    io.out(`package: ${pkg.files.join(', ')} (${Math.round(pkg.bytes.length / 1024)} KB zipped, build ${pkg.sha256.slice(0, 12)})`);
    const plan = planDeploy(desired, pkg.sha256, await observe(api, desired));
    for (const l of formatPlan(plan, desired)) io.out(l);
    if (plan.problems.length) {
      io.out('refused: fix the problems above first (nothing was changed)');
      return 1;
    }
    if (opts.dryRun) return dryRunDone(io);
    if (planIsEmpty(plan)) {
      io.out('everything is up to date');
      return 0;
    }
    await applyPlan(api, plan, desired, pkg.bytes.toString('base64'), pkg.sha256, io);
    io.out(`deployed: ${desired.functions.map((f) => f.name).join(', ')}`);
    return 0;
  } catch (e) {
    if (e instanceof DeployConfigError) for (const p of e.problems) io.out(`refused: ${p}`);
    else io.out(`failed: ${(e as Error).message}`);
    return 1;
  }
}

/** A dry run ends saying so, as every other way out of a deploy does. */
function dryRunDone(io: DeployIo): number {
  io.out('dry run: the plan above; nothing was changed');
  return 0;
}
