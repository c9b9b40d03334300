/**
 * An in-memory CCC for unit tests of the workflow (no HTTP): registers what it is sent, remembers
 * which object version each file came from, and can lose answers or fail calls on request. The
 * HTTP-level behaviour (signatures, real error shapes, downloads) is the fake server's job.
 */
import type { ApiFailure, AudioFile, UploadResponse } from '../shared/core/outcome';
import type { ApiResult, IvrAudioApi, UploadItem } from '../shared/sdk/ccc';
import type { MemoryObjects } from '../shared/store/objects';

export interface MemoryFile extends AudioFile {
  key: string;
  etag: string;
  at: number;
}

export type MemoryFault = { kind: 'lose-after-register' } | { kind: 'fail'; failure: ApiFailure };

export class MemoryCcc implements IvrAudioApi {
  files: MemoryFile[] = [];
  calls: Array<{ at: number; files: number; result: string }> = [];
  faults: MemoryFault[] = [];
  private next = 1001;

  constructor(
    private readonly objects: MemoryObjects,
    private readonly now: () => number,
  ) {}

  async upload(items: UploadItem[]): Promise<ApiResult<UploadResponse>> {
    const fault = this.faults.shift();
    if (fault?.kind === 'fail') {
      this.calls.push({ at: this.now(), files: items.length, result: fault.failure.code });
      return { ok: false, failure: fault.failure };
    }
    const succeeded: AudioFile[] = [];
    const failed: UploadResponse['failed'] = [];
    for (const item of items) {
      const key = decodeURIComponent(/^memory:\/\/objects\/([^?]+)/.exec(item.AudioUrl)![1]);
      const o = this.objects.objects.get(key);
      if (!o) {
        // As CCC refuses a file it could not download.
        failed.push({ fileName: item.CustomFileName, message: 'audio download failed' });
        continue;
      }
      const f: MemoryFile = { fileId: this.next++, customFileName: item.CustomFileName, audioFileName: `f${this.next}.mp3`, status: 0, key, etag: o.etag, at: this.now() };
      this.files.push(f);
      succeeded.push(f);
    }
    this.calls.push({ at: this.now(), files: items.length, result: fault ? 'lost' : 'ok' });
    if (fault?.kind === 'lose-after-register') return { ok: false, failure: { kind: 'network', code: 'NetworkError', message: 'socket hang up' } };
    return { ok: true, value: { requestId: `req-${this.calls.length}`, succeeded, failed } };
  }

  async describe(q: { fileIds?: number[]; customFileNames?: string[]; pageNumber: number; pageSize: number }): Promise<ApiResult<{ requestId: string; total: number; files: AudioFile[] }>> {
    const matching = this.files.filter((f) => (!q.fileIds || q.fileIds.includes(f.fileId)) && (!q.customFileNames || q.customFileNames.includes(f.customFileName)));
    return { ok: true, value: { requestId: 'describe', total: matching.length, files: matching.slice(q.pageNumber * q.pageSize, (q.pageNumber + 1) * q.pageSize) } };
  }
}
