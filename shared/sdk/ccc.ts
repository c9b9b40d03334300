/**
 * Thin typed wrapper around the official CCC client. It turns SDK exceptions into `ApiFailure`
 * values and API responses into plain data; every decision about them lives in `outcome.ts`.
 */
import { Agent as HttpAgent } from 'http';
import { Agent as HttpsAgent } from 'https';
import { connect, type Socket } from 'net';
import type { Client } from 'tencentcloud-sdk-nodejs/tencentcloud/services/ccc/v20200210/ccc_client';
import type { Config, Endpoint } from '../core/config';
import { asTencentCode } from '../core/errors';
import type { ApiFailure, AudioFile, UploadResponse } from '../core/outcome';
import { fromService } from '../runtime/log';
import { sideFileLoader } from '../runtime/side-file';

/** The host CCC requests are addressed and signed for, also when an endpoint override connects elsewhere. */
export const CCC_HOST = 'ccc.tencentcloudapi.com';

/** One file of an UploadIvrAudio call, in the API's field names. */
export interface UploadItem {
  CustomFileName: string;
  /** The signed URL CCC downloads the file from: a credential, never logged. */
  AudioUrl: string;
}

/** A CCC call's value, or why it failed: the API returns failures rather than throwing them. */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; failure: ApiFailure };

/** The two CCC actions the product uses; SDK errors come back as {@link ApiFailure}s. */
export interface IvrAudioApi {
  /** UploadIvrAudio: CCC downloads and registers the files. */
  upload(items: UploadItem[]): Promise<ApiResult<UploadResponse>>;
  /**
   * Builds the client now if it is built lazily (loading the SDK's side file), so that a call made
   * right after spends no time on it between its window check and its request.
   */
  prepare?(): void;
  /** DescribeIvrAudioList: one page of registered files, by FileId or by display name. */
  describe(query: { fileIds?: number[]; customFileNames?: string[]; pageNumber: number; pageSize: number }): Promise<ApiResult<{ requestId: string; total: number; files: AudioFile[] }>>;
}

/**
 * An agent that opens every connection to `target`, whatever host the URL names, so the request
 * keeps its real Host header and TC3 scope (the SDK derives the scope's service from the host).
 */
export function loopbackAgent(target: Endpoint): HttpAgent {
  const agent = new HttpAgent({ keepAlive: true });
  (agent as unknown as { createConnection: (o: unknown, cb: unknown) => Socket }).createConnection = () =>
    connect({ host: target.hostname, port: target.port });
  return agent;
}

type SdkError = { code?: unknown; message?: unknown; requestId?: unknown; httpCode?: unknown };

/** Classifies what the SDK threw: a Tencent error code, an HTTP status, an unreadable answer, or a network error. */
export function failureFromSdkError(e: unknown): ApiFailure {
  const err = (typeof e === 'object' && e !== null ? e : {}) as SdkError;
  // CCC's words are stored on the object and in the ledger, and returned: should they ever quote
  // the signed AudioUrl or a token, only the address goes on.
  const message = fromService(typeof err.message === 'string' ? err.message : String(e));
  const requestId = typeof err.requestId === 'string' && err.requestId !== '' ? fromService(err.requestId) : undefined;
  if (typeof err.code === 'string' && err.code !== '') {
    // Redacted before anything else: a code of a known family that quotes a token is still one
    // (letters, digits and dots), and one cut short first no longer holds the whole token to match.
    const said = fromService(err.code);
    const code = asTencentCode(said);
    return code ? { kind: 'api', code, message, requestId, cause: e } : { kind: 'invalid-response', code: 'ResponseInvalid', message: `unrecognised error code ${said.slice(0, 60)}: ${message}`, requestId, cause: e };
  }
  if (typeof err.httpCode === 'number') return { kind: 'http', code: 'HttpError', message: `HTTP ${err.httpCode} ${message}`.trim(), httpStatus: err.httpCode, requestId, cause: e };
  if (e instanceof SyntaxError || /JSON|Unexpected token|Unexpected end/i.test(message)) return { kind: 'invalid-response', code: 'ResponseInvalid', message, cause: e };
  return { kind: 'network', code: 'NetworkError', message, cause: e };
}

const num = (v: unknown): number | undefined => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined);
// Strings of an answer that go on to objects, the ledger, logs and results: see fromService.
const text = (v: unknown): string => (typeof v === 'string' ? fromService(v) : '');
// Names CCC echoes back are compared with ours to tell which file is which (matchOutcomes, the
// lookup after a lost answer): as sent, never redacted (a prompt may well be named `token=…`).
const name = (v: unknown): string => (typeof v === 'string' ? v : '');

function toAudioFile(raw: unknown): AudioFile | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const fileId = num(r.FileId);
  if (fileId === undefined || !Number.isSafeInteger(fileId)) return undefined;
  return { fileId, customFileName: name(r.CustomFileName), audioFileName: text(r.AudioFileName), status: num(r.Status) };
}

/** The CCC client module, by deep import: the SDK's per-service path, so no other service's code is loaded. */
const CCC_CLIENT_MODULE = 'tencentcloud-sdk-nodejs/tencentcloud/services/ccc/v20200210/ccc_client';
/** File name of the bundled CCC client, next to the function bundles (kept in step with scripts/build.mjs). */
export const CCC_CLIENT_FILE = 'ccc_client.js';

/**
 * The SDK's client class, required on first use: only senders and the recovery pass call CCC, so
 * an invocation that only takes its file in (most of a burst) never loads the SDK. In the deploy
 * package the client is a side file next to the function bundle (scripts/build.mjs), so a cold
 * start does not even compile it; run from the sources (jest, tsx) it is the package itself.
 */
const clientModule = sideFileLoader(CCC_CLIENT_FILE, CCC_CLIENT_MODULE, 'the CCC client', (m): m is { Client: typeof Client } => typeof (m as { Client?: unknown } | null)?.Client === 'function', 'Client');
const clientClass = (): typeof Client => clientModule().Client;

/** A CCC client for the configured credentials and endpoint, with a keep-alive agent of its own. */
export function createCccClient(config: Config): Client {
  const endpoint = config.cccEndpoint;
  const CccClient = clientClass();
  return new CccClient({
    credential: { secretId: config.credentials.secretId, secretKey: config.credentials.secretKey, token: config.credentials.sessionToken },
    region: '',
    profile: {
      httpProfile: {
        endpoint: CCC_HOST,
        protocol: endpoint ? `${endpoint.protocol}//` : 'https://',
        reqTimeout: config.cccTimeoutSeconds,
        // An explicit agent also stops the SDK from picking up http_proxy from the environment.
        agent: endpoint ? loopbackAgent(endpoint) : new HttpsAgent({ keepAlive: true }),
      },
    },
  });
}

/**
 * The two CCC actions the product uses. `client` may be a factory: the client (and the SDK) is
 * then created at the first call and reused by every later one.
 */
export function createIvrAudioApi(clientOrFactory: Client | (() => Client), sdkAppId: number): IvrAudioApi {
  let made: Client | undefined = typeof clientOrFactory === 'function' ? undefined : clientOrFactory;
  const sdk = (): Client => (made ??= (clientOrFactory as () => Client)());
  return {
    prepare() {
      sdk();
    },
    async upload(items) {
      try {
        const res = await sdk().UploadIvrAudio({ SdkAppId: sdkAppId, AudioList: items });
        const succeeded = (res.SuccessFileList ?? []).map(toAudioFile);
        if (succeeded.some((f) => f === undefined)) return { ok: false, failure: { kind: 'invalid-response', code: 'ResponseInvalid', message: 'SuccessFileList entry without a FileId', requestId: text(res.RequestId) } };
        return {
          ok: true,
          value: {
            requestId: text(res.RequestId),
            succeeded: succeeded as AudioFile[],
            failed: (res.FailedFileList ?? []).map((f) => ({ fileName: name(f.FileName), message: text(f.FailedMsg) })),
          },
        };
      } catch (e) {
        return { ok: false, failure: failureFromSdkError(e) };
      }
    },
    async describe(q) {
      try {
        const res = await sdk().DescribeIvrAudioList({
          SdkAppId: sdkAppId,
          PageSize: q.pageSize,
          PageNumber: q.pageNumber,
          FileId: q.fileIds,
          CustomFileName: q.customFileNames,
        });
        // An entry without a FileId may be the very registration a lost answer is asked about:
        // dropped, the file would look unregistered and be sent again. The answer is refused
        // instead, so the question is asked again later, as after any failed Describe.
        const files = (res.FileInfo ?? []).map(toAudioFile);
        if (!files.every((f): f is AudioFile => f !== undefined)) return { ok: false, failure: { kind: 'invalid-response', code: 'ResponseInvalid', message: 'FileInfo entry without a FileId', requestId: text(res.RequestId) } };
        return { ok: true, value: { requestId: text(res.RequestId), total: num(res.TotalCount) ?? files.length, files } };
      } catch (e) {
        return { ok: false, failure: failureFromSdkError(e) };
      }
    },
  };
}
