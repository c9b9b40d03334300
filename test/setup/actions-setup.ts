/**
 * Jest globalSetup: every CAM action the fakes serve during the run is recorded. The fake COS and
 * CCC append the actions they serve for the functions' credentials to IVR_ACTION_LOG (actions.ts);
 * the fake SCF appends the deploy's actions to IVR_DEPLOY_ACTION_LOG. Both are fresh files per run,
 * set here in the parent process so every worker (and any child process) inherits them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export default function setup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-actions-'));
  for (const [name, file] of [
    ['IVR_ACTION_LOG', 'execution-role.log'],
    ['IVR_DEPLOY_ACTION_LOG', 'deploy-user.log'],
  ] as const) {
    const p = path.join(dir, file);
    fs.writeFileSync(p, '');
    process.env[name] = p;
  }
}
