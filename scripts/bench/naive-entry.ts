// The naive baseline for `npm run bench`: both SDKs imported from their package roots, bundled
// without shims. Never deployed.
import * as tencentcloud from 'tencentcloud-sdk-nodejs';
import COS from 'cos-nodejs-sdk-v5';

const client = new tencentcloud.ccc.v20200210.Client({ credential: { secretId: 'x', secretKey: 'y' }, region: '' });
const cos = new COS({ SecretId: 'x', SecretKey: 'y' });
export const main_handler = async () => ({ client: typeof client, cos: typeof cos });
