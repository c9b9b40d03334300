/**
 * Every API action the fakes serve on behalf of the functions' credentials, in CAM's spelling
 * (`cos:PutObjectCopy`, `ccc:UploadIvrAudio`). When `IVR_ACTION_LOG` names a file, each distinct
 * action is appended to it once per process, so a whole test run leaves the set of actions the
 * code really uses: the CAM policy check compares it with what the policy grants.
 */
import * as fs from 'fs';

const seen = new Set<string>();

export function recordAction(action: string): void {
  const file = process.env.IVR_ACTION_LOG;
  if (!file || seen.has(action)) return;
  seen.add(action);
  fs.appendFileSync(file, action + '\n');
}
