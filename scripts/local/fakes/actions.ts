/**
 * Every API action the fakes serve, in CAM's spelling (`cos:PutObjectCopy`, `ccc:UploadIvrAudio`),
 * by whose key it was: the functions' (`IVR_ACTION_LOG`) or the deploy user's
 * (`IVR_DEPLOY_ACTION_LOG`). When the variable names a file, each distinct action is appended to
 * it once per process, so a whole test run leaves the set of actions the code really uses: the
 * CAM policy checks compare each with what its policy grants.
 */
import * as fs from 'fs';
import type { FakeCredential } from './credentials';

const seen = { function: new Set<string>(), deploy: new Set<string>() };

function append(variable: string, done: Set<string>, action: string): void {
  const file = process.env[variable];
  if (!file || done.has(action)) return;
  done.add(action);
  fs.appendFileSync(file, action + '\n');
}

/** Records an action served for the functions' credentials (the execution role). */
export function recordAction(action: string): void {
  append('IVR_ACTION_LOG', seen.function, action);
}

/** Records an action served for the deploy user's credentials. */
export function recordDeployAction(action: string): void {
  append('IVR_DEPLOY_ACTION_LOG', seen.deploy, action);
}

/** Records an action for whichever policy governs `cred` (an operator's own actions are no policy's). */
export function recordActionOf(cred: FakeCredential | undefined, action: string): void {
  if (cred?.role === 'deploy') recordDeployAction(action);
  else if (cred?.role !== 'operator') recordAction(action);
}
