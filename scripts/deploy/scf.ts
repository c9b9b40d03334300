/**
 * Thin typed wrapper around the official SCF client (2018-04-16, deep import like the CCC client):
 * one method per API call the deploy makes, SDK exceptions turned into `ScfApiError`, and
 * "function not found" turned into `undefined`. No decisions are made here; see plan.ts.
 */
import * as https from 'https';
import { Client } from 'tencentcloud-sdk-nodejs/tencentcloud/services/scf/v20180416/scf_client';
import type {
  CreateFunctionRequest,
  CreateTriggerRequest,
  DeleteTriggerRequest,
  GetFunctionResponse,
  TriggerInfo,
  UpdateFunctionCodeRequest,
  UpdateFunctionConfigurationRequest,
} from 'tencentcloud-sdk-nodejs/tencentcloud/services/scf/v20180416/scf_models';
import type { Endpoint } from '../../shared/core/config';
import { loopbackAgent } from '../../shared/sdk/ccc';
import type { DeployCredentials } from '../lib/deploy-config';
import { NAMESPACE } from '../lib/deploy-spec';

/** The real endpoint; the TC3 scope's service (`scf`) is derived from it by the SDK. */
export const SCF_HOST = 'scf.tencentcloudapi.com';

/** An SCF API call that failed: Tencent's error code when there is one, else `NetworkError`/`HttpError`. */
export class ScfApiError extends Error {
  constructor(
    readonly action: string,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(`${action} failed: ${code}: ${message}${requestId ? ` (RequestId ${requestId})` : ''}`);
  }
}

/** Codes the API answers while a function is Creating/Updating/Deleting (errors.go of the official SDKs). */
export const BUSY_CODES = new Set([
  'FailedOperation.UpdateFunctionCode',
  'FailedOperation.UpdateFunctionConfiguration',
  'FailedOperation.CreateTrigger',
  'FailedOperation.DeleteFunction',
  'FailedOperation.FunctionStatusError',
  'FailedOperation.FunctionNameStatusError',
  'FailedOperation.DeleteTrigger',
]);

/**
 * Whether Tencent's answer is a passing one that the same call may not get a moment later:
 * `InternalError` and its sub-codes (platform.md §1: `InternalError.DBError`, a server-side database
 * failure) and `RequestLimitExceeded` (the rate limit), common codes of every API 3.0 service.
 */
export function isTransientCode(code: string): boolean {
  return code === 'InternalError' || code.startsWith('InternalError.') || code === 'RequestLimitExceeded' || code.startsWith('RequestLimitExceeded.');
}

/** Async retry policy as the API reports it. */
export interface RetryPolicy {
  retryNum: number;
  msgTTLSeconds: number;
}

/** The SCF calls the deploy makes. */
export interface ScfApi {
  /** `undefined` when the function does not exist (`ResourceNotFound.Function`). */
  getFunction(name: string): Promise<GetFunctionResponse | undefined>;
  createFunction(req: CreateFunctionRequest): Promise<void>;
  updateFunctionCode(req: UpdateFunctionCodeRequest): Promise<void>;
  updateFunctionConfiguration(req: UpdateFunctionConfigurationRequest): Promise<void>;
  deleteFunction(name: string): Promise<void>;
  /** Every trigger of the function, all pages. */
  listTriggers(name: string): Promise<TriggerInfo[]>;
  createTrigger(req: CreateTriggerRequest): Promise<void>;
  deleteTrigger(req: DeleteTriggerRequest): Promise<void>;
  getRetryPolicy(name: string): Promise<RetryPolicy | undefined>;
  setRetryPolicy(name: string, policy: RetryPolicy): Promise<void>;
}

type SdkError = { code?: unknown; message?: unknown; requestId?: unknown; httpCode?: unknown };

function toApiError(action: string, e: unknown): ScfApiError {
  const err = (typeof e === 'object' && e !== null ? e : {}) as SdkError;
  const message = typeof err.message === 'string' ? err.message : String(e);
  const requestId = typeof err.requestId === 'string' && err.requestId ? err.requestId : undefined;
  if (typeof err.code === 'string' && err.code) return new ScfApiError(action, err.code, message, requestId);
  if (typeof err.httpCode === 'number') return new ScfApiError(action, 'HttpError', `HTTP ${err.httpCode} ${message}`.trim(), requestId);
  return new ScfApiError(action, 'NetworkError', message);
}

const NOT_FOUND = new Set(['ResourceNotFound.Function', 'ResourceNotFound.FunctionName']);

/**
 * The SDK client for `region`. With `endpoint` (env `SCF_ENDPOINT`), connections go there while the
 * request keeps `Host: scf.tencentcloudapi.com` and the `scf` signature scope, like CCC_ENDPOINT.
 */
export function createScfClient(credentials: DeployCredentials, region: string, endpoint?: Endpoint, reqTimeoutSeconds = 60): Client {
  return new Client({
    credential: { secretId: credentials.secretId, secretKey: credentials.secretKey, token: credentials.token },
    region,
    profile: {
      httpProfile: {
        endpoint: SCF_HOST,
        protocol: endpoint ? `${endpoint.protocol}//` : 'https://',
        reqTimeout: reqTimeoutSeconds,
        // An explicit agent also keeps the SDK from picking up http_proxy from the environment.
        agent: endpoint ? loopbackAgent(endpoint) : new https.Agent({ keepAlive: true }),
      },
    },
  });
}

/** The deploy's SCF calls over `client`. */
export function createScfApi(client: Client): ScfApi {
  const call = async <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw toApiError(action, e);
    }
  };
  return {
    async getFunction(name) {
      try {
        return await client.GetFunction({ FunctionName: name, Namespace: NAMESPACE });
      } catch (e) {
        const err = toApiError('GetFunction', e);
        if (NOT_FOUND.has(err.code)) return undefined;
        throw err;
      }
    },
    async createFunction(req) {
      await call('CreateFunction', () => client.CreateFunction(req));
    },
    async updateFunctionCode(req) {
      await call('UpdateFunctionCode', () => client.UpdateFunctionCode(req));
    },
    async updateFunctionConfiguration(req) {
      await call('UpdateFunctionConfiguration', () => client.UpdateFunctionConfiguration(req));
    },
    async deleteFunction(name) {
      await call('DeleteFunction', () => client.DeleteFunction({ FunctionName: name, Namespace: NAMESPACE }));
    },
    async listTriggers(name) {
      const out: TriggerInfo[] = [];
      // Limit 100 per page (the toolkit's page size); stop when a page is short or the total is reached.
      for (let offset = 0; ; offset += 100) {
        const res = await call('ListTriggers', () => client.ListTriggers({ FunctionName: name, Namespace: NAMESPACE, Offset: offset, Limit: 100 }));
        const page = res.Triggers ?? [];
        out.push(...page);
        if (page.length < 100 || out.length >= (res.TotalCount ?? 0)) return out;
      }
    },
    async createTrigger(req) {
      await call('CreateTrigger', () => client.CreateTrigger(req));
    },
    async deleteTrigger(req) {
      await call('DeleteTrigger', () => client.DeleteTrigger(req));
    },
    async getRetryPolicy(name) {
      const res = await call('GetFunctionEventInvokeConfig', () => client.GetFunctionEventInvokeConfig({ FunctionName: name, Namespace: NAMESPACE }));
      const cfg = res.AsyncTriggerConfig;
      const retryNum = cfg?.RetryConfig?.[0]?.RetryNum;
      if (!cfg || typeof retryNum !== 'number' || typeof cfg.MsgTTL !== 'number') return undefined;
      return { retryNum, msgTTLSeconds: cfg.MsgTTL };
    },
    async setRetryPolicy(name, policy) {
      await call('UpdateFunctionEventInvokeConfig', () =>
        client.UpdateFunctionEventInvokeConfig({
          FunctionName: name,
          Namespace: NAMESPACE,
          AsyncTriggerConfig: { RetryConfig: [{ RetryNum: policy.retryNum }], MsgTTL: policy.msgTTLSeconds },
        }),
      );
    },
  };
}
