/**
 * Jest globalTeardown: the CAM policies checked against real usage. After all tests, the actions
 * the fakes recorded (see actions-setup.ts) are compared with
 * - deploy/cam-policy.json (execution role): every COS/CCC action the functions used must be
 *   granted, and every granted one must have been used;
 * - deploy/deploy-user-policy.json (deploy user): the same for the SCF actions of the API deploy and
 *   the COS action of the bucket check both deploy paths make (its CAM statement and the COS
 *   trigger binding's notification actions, which SCF performs on Tencent's side, are served by no
 *   fake and are checked by structure in test/deploy.test.ts).
 * A mismatch throws, which makes jest, and so `npm test`, fail. When jest ran only some tests,
 * "granted but never used" cannot be judged and is skipped with a note.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadDeployEnv, loadDeploySettings, renderDeployUserPolicy, renderPolicy, ROOT } from '../../scripts/lib/deploy-config';
import { diffActions, grantedActions, recordedActions } from '../../scripts/lib/policy-check';

/** The fields of jest's GlobalConfig that say a run was narrowed to some tests. */
interface RunFilters {
  testPathPattern?: string;
  testNamePattern?: string;
  onlyChanged?: boolean;
  onlyFailures?: boolean;
  findRelatedTests?: boolean;
  lastCommit?: boolean;
  changedSince?: string;
  nonFlagArgs?: string[];
  shard?: unknown;
}

function partialRun(g: RunFilters): boolean {
  return Boolean(g.testPathPattern || g.testNamePattern || g.onlyChanged || g.onlyFailures || g.findRelatedTests || g.nonFlagArgs?.length || g.shard || g.lastCommit || g.changedSince);
}

/** Deploy-user actions no fake serves: CAM's, and the COS trigger binding's (SCF binds it on Tencent's side). */
const SERVED_BY_NO_FAKE = /^(cam:|cos:(Get|Put)BucketNotification$)/;

export default function teardown(globalConfig: RunFilters): void {
  const partial = partialRun(globalConfig);
  const { values } = loadDeployEnv(path.join(ROOT, '.env.example'), {});
  const settings = loadDeploySettings(values);
  const checks = [
    { label: 'execution role (deploy/cam-policy.json)', log: process.env.IVR_ACTION_LOG, granted: grantedActions(renderPolicy(settings)) },
    { label: 'deploy user (deploy/deploy-user-policy.json, SCF and COS actions)', log: process.env.IVR_DEPLOY_ACTION_LOG, granted: grantedActions(renderDeployUserPolicy(settings, '100000000001')).filter((a) => !SERVED_BY_NO_FAKE.test(a)) },
  ];
  const failures: string[] = [];
  const report: string[] = [];
  for (const c of checks) {
    if (!c.log || !fs.existsSync(c.log)) {
      failures.push(`${c.label}: no action log (was actions-setup.ts run as globalSetup?)`);
      continue;
    }
    const used = recordedActions(fs.readFileSync(c.log, 'utf8'));
    const { missing, unused } = diffActions(used, c.granted);
    if (missing.length) failures.push(`${c.label}: used but not granted (denied in the cloud): ${missing.join(', ')}`);
    if (!partial && unused.length) failures.push(`${c.label}: granted but never used by the whole suite: ${unused.join(', ')}`);
    report.push(`${c.label}: used ${used.length} action(s), all granted: ${missing.length === 0}${partial ? '' : `, none granted in vain: ${unused.length === 0}`}`);
  }
  if (partial) report.push('policy check: only some tests ran, so "granted but never used" was not judged (run the whole suite)');
  process.stdout.write(`\nCAM policies against real usage\n  ${report.join('\n  ')}\n`);
  if (failures.length) throw new Error(`CAM policy check failed (edit the policy file, it is the one place):\n  ${failures.join('\n  ')}`);
}
