/**
 * The bench's floor for cold load: the official COS SDK alone, bundled with the same shims and
 * patches as the functions and constructed the way shared/sdk/cos.ts does, in a handler that
 * does nothing else. Every upload needs COS at once (its first step reads the object), so no
 * function of this product can load faster than this. Never deployed.
 */
import COS from 'cos-nodejs-sdk-v5';

const cos = new COS({
  SecretId: process.env.TENCENTCLOUD_SECRETID,
  SecretKey: process.env.TENCENTCLOUD_SECRETKEY,
  SecurityToken: process.env.TENCENTCLOUD_SESSIONTOKEN,
  KeepAlive: true,
  Timeout: 30000,
  FileParallelLimit: 64,
  UploadQueueSize: 8,
});

/** Proves the client exists; never called by SCF. */
export const main_handler = async (): Promise<{ ready: boolean }> => ({ ready: typeof cos.getObject === 'function' });
