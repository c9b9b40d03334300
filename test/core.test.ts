/** The functional core: pure decisions, tested on plain data without any server. */
import * as fs from 'fs';
import * as path from 'path';
import { claimKey, OUTBOX_LEASE_MS, OUTBOX_LIFETIME_MS, outboxStep, owedRejections, planOutbox } from '../shared/core/outbox';
import { parseOutboxRecord, type OutboxRecord } from '../shared/core/outbox';
import { byteBudget } from '../shared/runtime/concurrency';
import { cosTransient, refusedKeysTransient } from '../shared/core/storage';
import { CCC_FILE_BYTES_DEFAULT, loadConfig, parseUtcOffset } from '../shared/core/config';
import { bytesNeeded, judgeAudio } from '../shared/audio/check';
import { checkFile, checkKey } from '../shared/core/eligibility';
import { parseCosEvent, recoverKey, resolveRegion } from '../shared/core/event';
import { quotaDay } from '../shared/core/zone';
import { createLogger, redact, redactDeep, redactError, redactUrl, registerSecret, setLogSink, urlSecrets } from '../shared/runtime/log';
import { encodeTrimmed, mergeResult, META_BUDGET_BYTES, readResult, type IvrResult } from '../shared/core/metadata';
import { wellFormed } from '../shared/core/text';
import { customFileName } from '../shared/core/naming';
import { afterFailedAttempt, backoffMs, classifyFailure, lostAnswerError, matchOutcomes, pickRegistration, rateLimitedUntil, type ApiFailure } from '../shared/core/outcome';
import { IvrError } from '../shared/core/errors';
import { mp3Silence, PNG_BYTES, wav, wavTone } from './audio';
import { cosEventRecord } from '../scripts/local/fakes/events';

describe('event parsing', () => {
  test('recovers raw and encoded keys and prefers the url', () => {
    expect(recoverKey('/125/b/a b.mp3', '125', 'b')).toEqual({ key: 'a b.mp3' });
    expect(recoverKey('/125/b/a%20b.mp3', '125', 'b')).toEqual({ key: 'a b.mp3', altKey: 'a%20b.mp3' });
    expect(recoverKey('/125/b/a%20b.mp3', '125', 'b', 'http://b-125.cos.ap-gz.myqcloud.com/a%2520b.mp3')).toEqual({ key: 'a%20b.mp3' });
    expect(recoverKey('/125/b/100%.mp3', '125', 'b')).toEqual({ key: '100%.mp3' });
    expect(recoverKey('/999/b/x.mp3', '125', 'b')).toBeUndefined();
  });

  test('short region codes give way to cosRegion', () => {
    expect(resolveRegion({ region: 'gz', cosRegion: 'ap-guangzhou' })).toBe('ap-guangzhou');
    expect(resolveRegion({ region: 'ap-shanghai' })).toBe('ap-shanghai');
    expect(resolveRegion({ region: 'sh' })).toBeUndefined();
  });

  test('classifies events and builds the full bucket name', () => {
    const [p] = parseCosEvent({ Records: [cosEventRecord({ bucket: 'prompts-1250000000', region: 'ap-guangzhou', key: 'a.mp3', size: 3, eventName: 'cos:ObjectCreated:Copy' })] });
    expect(p).toMatchObject({ ok: true, event: { kind: 'copy', bucket: 'prompts-1250000000', region: 'ap-guangzhou', key: 'a.mp3', size: 3 } });
  });

  test('takes every record of a large event: one refused for the count alone would be lost (no status, no retry)', () => {
    const rec = cosEventRecord({ bucket: 'p-1', region: 'ap-guangzhou', key: 'a.mp3', size: 1 });
    const parsed = parseCosEvent({ Records: Array.from({ length: 1002 }, () => rec) });
    expect(parsed.filter((r) => r.ok)).toHaveLength(1002);
  });
});

describe('eligibility', () => {
  test('name and size decide alone only what they can', () => {
    expect(checkFile('a.MP3', 1)).toEqual({ format: 'mp3' });
    expect(checkFile('a.ogg', 1)).toMatchObject({ code: 'UnsupportedExtension', message: 'the file is .ogg; only .mp3 and .wav files can be IVR audio: convert it, e.g. `sox in.ogg -r 8000 -c 1 -b 16 out.wav` (Ogg Vorbis) or `ffmpeg -y -i in.ogg -ar 8000 -ac 1 -c:a pcm_s16le out.wav` (any Ogg, Opus voice messages too)' });
    expect(checkFile('a.FLAC', 1)).toMatchObject({ message: 'the file is .FLAC; only .mp3 and .wav files can be IVR audio: convert it, e.g. `sox in.flac -r 8000 -c 1 -b 16 out.wav`' });
    expect(checkFile('a.m4a', 1)).toMatchObject({ message: 'the file is .m4a; only .mp3 and .wav files can be IVR audio: convert it, e.g. `ffmpeg -y -i in.m4a -ar 8000 -ac 1 -c:a pcm_s16le out.wav`' });
    expect(checkFile('a.txt', 1)).toMatchObject({ code: 'UnsupportedExtension', message: 'the file is .txt; only .mp3 and .wav files can be IVR audio' });
    expect(checkFile('a.constructor', 1)).toMatchObject({ message: 'the file is .constructor; only .mp3 and .wav files can be IVR audio' });
    expect(checkFile('prompts/readme', 1)).toMatchObject({ code: 'UnsupportedExtension', message: 'the file name has no extension; only .mp3 and .wav files can be IVR audio' });
    expect(checkFile('a.wav', 0)).toMatchObject({ code: 'EmptyFile' });
    expect(checkFile('a.wav', 50 * 1024 * 1024)).toEqual({ format: 'wav' });
  });
  test('CCC\'s "5 MB" is read as 5000000 bytes unless IVR_MAX_FILE_BYTES says 5 MiB', () => {
    const env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key' };
    expect(loadConfig(env).maxFileBytes).toBe(5_000_000);
    expect(loadConfig({ ...env, IVR_MAX_FILE_BYTES: '5242880' }).maxFileBytes).toBe(5_242_880);
    expect(() => loadConfig({ ...env, IVR_MAX_FILE_BYTES: '6000000' })).toThrow(/IVR_MAX_FILE_BYTES/);
    const size = 5_100_000;
    expect(judgeAudio(mp3Silence(10), 'mp3', size, { convert: 'auto', maxFileBytes: 5_000_000 })).toMatchObject({ code: 'FileTooLarge', message: expect.stringContaining('CCC accepts at most 5000000 bytes (5 MB, shown by Windows as 4.76 MB)') });
    expect(bytesNeeded(size, 'mp3', { convert: 'auto', maxFileBytes: 5_242_880 })).toBe(size);
  });

  test('the whole file decides: valid audio, the right format, sent as it is or converted', () => {
    const policy = { convert: 'auto' as const, maxFileBytes: CCC_FILE_BYTES_DEFAULT };
    expect(judgeAudio(mp3Silence(10), 'mp3', mp3Silence(10).length, policy)).toMatchObject({ send: 'as-is' });
    expect(judgeAudio(wavTone(), 'wav', wavTone().length, policy)).toMatchObject({ send: 'as-is' });
    expect(judgeAudio(wavTone(), 'mp3', wavTone().length, policy)).toMatchObject({ code: 'FormatMismatch' });
    expect(judgeAudio(PNG_BYTES, 'mp3', PNG_BYTES.length, policy)).toMatchObject({ code: 'NotAudio' });
    const cut = wavTone(1000).subarray(0, 3000);
    expect(judgeAudio(cut, 'wav', cut.length, policy)).toMatchObject({ code: 'AudioTruncated' });
    expect(judgeAudio(wavTone(2000), 'wav', wavTone(2000).length, { ...policy, maxSeconds: 1 })).toMatchObject({ code: 'AudioTooLong' });
    // Over 5 MB: an MP3 fails with the fix; a WAV too big even to convert fails without being read.
    expect(bytesNeeded(6 * 1024 * 1024, 'mp3', policy)).toBe(0);
    expect(judgeAudio(mp3Silence(10), 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'FileTooLarge', message: expect.stringMatching(/lame/) });
    // Too large, and not audio or not the format its name says: the start says so first (the
    // size's advice, re-encode with lame or convert with sox, would be wrong for it).
    expect(judgeAudio(PNG_BYTES, 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'NotAudio' });
    expect(judgeAudio(wavTone(), 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'FormatMismatch' });
    expect(judgeAudio(mp3Silence(10), 'wav', 30 * 1024 * 1024, policy)).toMatchObject({ code: 'FormatMismatch', message: expect.stringMatching(/named \.wav but holds MPEG audio/) });
    expect(judgeAudio(PNG_BYTES, 'wav', 30 * 1024 * 1024, policy)).toMatchObject({ code: 'NotAudio' });
    // An ID3 tag (a large cover picture) that ends near where the first read ends leaves too few
    // bytes to look for frames in: the size decides, not NotAudio.
    const tagged = (tagBytes: number) => {
      const size = tagBytes - 10;
      const head = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
      return Buffer.concat([head, Buffer.alloc(size), mp3Silence(10)]).subarray(0, 5_000_001);
    };
    expect(judgeAudio(tagged(4_999_999), 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'FileTooLarge' });
    expect(judgeAudio(tagged(4_990_000), 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'FileTooLarge' });
    // A tag with nothing audio after it, within reach, is still found out.
    expect(judgeAudio(Buffer.concat([tagged(1000).subarray(0, 1000), PNG_BYTES, Buffer.alloc(200_000, 0x41)]), 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'NotAudio' });
    // A WAV too long even at 8 kHz mono: the header in the first read says so, and the advice is
    // to shorten it or make an MP3, not the sox command that would make a file failing again.
    const header = (seconds: number) => {
      // A real 44.1 kHz stereo header, its sizes declaring `seconds` (the samples are not needed: only the start is read).
      const h = wav({ rate: 44100, channels: 2, seconds: 0.01 });
      const data = seconds * 44100 * 4;
      h.writeUInt32LE(36 + data, 4);
      h.writeUInt32LE(data, 40);
      return { bytes: h, size: 44 + data };
    };
    const long = header(330);
    expect(judgeAudio(long.bytes, 'wav', long.size, policy)).toMatchObject({ code: 'FileTooLarge', message: expect.stringMatching(/its 330 s of audio take 5280044 bytes even as 8 kHz mono 16-bit WAV \(which holds at most 312 s\): shorten or split it, or encode it as MP3/) });
    const convertible = header(100);
    expect(judgeAudio(convertible.bytes, 'wav', convertible.size, policy)).toMatchObject({ code: 'AudioTooLargeToConvert', message: expect.stringMatching(/sox in\.wav -r 8000/) });
    // A frame cut off where the first read ends is not the file's problem: its size decides.
    expect(judgeAudio(mp3Silence(10).subarray(0, 1000), 'mp3', 6 * 1024 * 1024, policy)).toMatchObject({ code: 'FileTooLarge' });
    expect(bytesNeeded(6 * 1024 * 1024, 'wav', policy)).toBe(6 * 1024 * 1024);
    expect(bytesNeeded(6 * 1024 * 1024, 'wav', { convert: 'off', maxFileBytes: CCC_FILE_BYTES_DEFAULT })).toBe(0);
    expect(judgeAudio(wavTone().subarray(0, 100), 'wav', 30 * 1024 * 1024, policy)).toMatchObject({ code: 'AudioTooLargeToConvert' });
  });
  test('keys', () => {
    expect(checkKey('.ivr-audio-sync/x', '', '.ivr-audio-sync/')).toBe('ledger');
    expect(checkKey('prompts/menus/', 'prompts/', '.ivr-audio-sync/')).toBe('folder');
    expect(checkKey('a/\u0007.mp3', '', '.l/')).toMatchObject({ code: 'KeyInvalid' });
    expect(checkKey('a/../b.mp3', '', '.l/')).toMatchObject({ code: 'KeyInvalid' });
    expect(checkKey('x'.repeat(900), '', '.l/')).toMatchObject({ code: 'KeyInvalid', message: 'object key is 900 bytes (UTF-8), longer than the 850 handled: shorten its folders or name' });
    // Which control character, and where: none shows in a listing.
    expect(checkKey('prompts/menu\tmain.mp3', '', '.l/')).toMatchObject({ message: 'object key contains a control character (a tab) after "prompts/menu"' });
    expect(checkKey('a\u0001.mp3', '', '.l/')).toMatchObject({ message: 'object key contains a control character (U+0001) after "a"' });
    expect(checkKey('b.mp3', 'a/', '.l/')).toMatchObject({ code: 'KeyOutsidePrefix' });
    expect(checkKey('a/b.mp3', 'a/', '.l/')).toBeUndefined();
  });
});

describe('naming', () => {
  test('base name, or the uploader override', () => {
    expect(customFileName('a/b/Welcome Message.mp3', undefined)).toBe('Welcome Message');
    expect(customFileName('a/b.mp3', encodeURIComponent(' 你好 '))).toBe('你好');
    expect(customFileName('a/b.mp3', '%FF')).toMatchObject({ code: 'IvrNameInvalid' });
    expect(customFileName('a/b.mp3', '')).toMatchObject({ code: 'IvrNameInvalid' });
    // A name of spaces is not called empty (a trial's " .mp3" read "is empty" and looked fine).
    expect(customFileName('a/ .mp3', undefined)).toMatchObject({ code: 'IvrNameInvalid', message: expect.stringMatching(/^the file name without its extension is only spaces: rename the file/) });
    expect(customFileName('a/b.mp3', '')).toMatchObject({ message: expect.stringMatching(/^x-cos-meta-ivr-name is empty: /) });
  });
});

describe('metadata', () => {
  const result: IvrResult = { status: 'failed', etag: 'abc', at: '2026-01-01T00:00:00.000Z', errorCode: 'NotAudio', errorMessage: '错误'.repeat(400) };
  const bytes = (m: Record<string, string>) => Object.entries(m).reduce((n, [k, v]) => n + Buffer.byteLength('x-cos-meta-' + k) + Buffer.byteLength(v), 0);

  test('round-trips, drops spoofed fields, keeps foreign ones and stays within 2 KB', () => {
    const merged = mergeResult({ owner: 'ops', 'ivr-file-id': '999', 'ivr-status': 'uploaded' }, result);
    expect(merged.owner).toBe('ops');
    expect(merged['ivr-file-id']).toBeUndefined();
    expect(bytes(merged)).toBeLessThanOrEqual(META_BUDGET_BYTES);
    expect(readResult(merged)).toMatchObject({ status: 'failed', etag: 'abc', errorCode: 'NotAudio' });
    expect(readResult(merged)!.errorMessage!.endsWith('…')).toBe(true);
  });

  test('near-full user metadata still gets status and etag, or a clear error', () => {
    const nearly = { big: 'x'.repeat(1900) };
    const merged = mergeResult(nearly, result);
    expect(merged['ivr-status']).toBe('failed');
    expect(bytes(merged)).toBeLessThanOrEqual(META_BUDGET_BYTES);
    expect(() => mergeResult({ big: 'x'.repeat(2030) }, result)).toThrow(expect.objectContaining({ code: 'MetadataTooLarge' }));
  });

  test('room for the status but not for the outcome (the FileId, the error code) is MetadataTooLarge too, never a status without it', () => {
    const uploaded: IvrResult = { status: 'uploaded', etag: 'abc', at: result.at, fileId: 1001, review: 'pending' };
    const fits = (n: number) => ({ notes: 'x'.repeat(n) });
    // The largest uploader metadata that leaves room for status and etag only.
    const roomForStatus = (k: number) => {
      try {
        return bytes(mergeResult(fits(k), { status: 'uploaded', etag: 'abc', at: '' })) <= META_BUDGET_BYTES;
      } catch {
        return false;
      }
    };
    let n = 1900;
    while (roomForStatus(n + 1)) n++;
    expect(roomForStatus(n)).toBe(true);
    expect(() => mergeResult(fits(n), uploaded)).toThrow(expect.objectContaining({ code: 'MetadataTooLarge', message: expect.stringContaining('ivr-file-id') }));
    expect(() => mergeResult(fits(n), { ...result, errorCode: 'NotAudio' })).toThrow(expect.objectContaining({ code: 'MetadataTooLarge', message: expect.stringContaining('ivr-error-code') }));
    // A `retrying` or `deferred` without its code still says where the file stands: written.
    expect(mergeResult(fits(n), { status: 'retrying', etag: 'abc', at: '', errorCode: 'InternalError' })['ivr-status']).toBe('retrying');
  });

  test('values read as they are in the COS console; only what a header cannot carry is encoded, and they read back exactly', () => {
    const message = ' the file is 5201280 bytes (5.2 MB); CCC accepts at most 5000000 bytes: "re-encode" it, 100% 错误 😀 ';
    const merged = mergeResult({}, { ...result, errorMessage: message, etag: '"abc"' });
    expect(merged['ivr-error-message']).toBe('%20the file is 5201280 bytes (5.2 MB); CCC accepts at most 5000000 bytes: "re-encode" it, 100%25 %E9%94%99%E8%AF%AF %F0%9F%98%80%20');
    expect(merged['ivr-etag']).toBe('"abc"');
    for (const v of Object.values(merged)) expect(v).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
    expect(readResult(merged)).toMatchObject({ errorMessage: message, etag: '"abc"' });
    // What an older release wrote (encoded whole) reads back the same.
    const old = Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, encodeURIComponent(decodeURIComponent(v))]));
    expect(readResult(old)).toEqual(readResult(merged));
  });

  test('trimming never splits a character', () => {
    const t = encodeTrimmed('é'.repeat(100), 40);
    expect(t.length).toBeLessThanOrEqual(40);
    expect(() => decodeURIComponent(t)).not.toThrow();
  });
});

describe('outcome', () => {
  const f = (kind: ApiFailure['kind'], code: ApiFailure['code'], httpStatus?: number): ApiFailure => ({ kind, code, message: '', httpStatus });
  test.each<[ApiFailure, string]>([
    [f('api', 'RequestLimitExceeded'), 'rate-limited'],
    [f('api', 'RequestLimitExceeded.UinLimitExceeded'), 'rate-limited'],
    [f('api', 'FailedOperation.UploadFileOverflow'), 'quota'],
    [f('api', 'InternalError.DBError'), 'internal'],
    [f('api', 'InternalError'), 'internal'],
    [f('api', 'AuthFailure.TokenFailure'), 'credentials'],
    [f('api', 'AuthFailure.SignatureExpire'), 'credentials'],
    [f('api', 'AuthFailure.SignatureFailure'), 'permanent'],
    [f('api', 'InvalidParameterValue'), 'permanent'],
    [f('http', 'HttpError', 503), 'unknown'],
    [f('http', 'HttpError', 404), 'permanent'],
    [f('network', 'NetworkError'), 'unknown'],
    [f('invalid-response', 'ResponseInvalid'), 'unknown'],
  ])('%j is %s', (failure, kind) => {
    expect(classifyFailure(failure)).toBe(kind);
  });
  test('backoff grows ×4 and stays bounded', () => {
    expect(backoffMs(1, 1000, () => 0)).toBe(500);
    expect(backoffMs(3, 1000, () => 1)).toBe(16000);
    expect(backoffMs(20, 1000, () => 1)).toBe(300000);
  });
  test('a failed attempt is retried after a backoff until the last allowed one, which gives up with the error given for that', () => {
    const giveUp = { code: 'GaveUp' as const, message: 'out of attempts' };
    const lastError = { code: 'InternalError' as const, message: 'busy' };
    const retry = afterFailedAttempt({ attempts: 2 }, { maxAttempts: 4, nowMs: 1000, retryBaseMs: 100, lastError, giveUp });
    expect(retry.event).toBe('retry');
    expect(retry.patch.lastError).toEqual(lastError);
    expect(retry.patch.notBefore).toBeGreaterThanOrEqual(1000 + 800);
    expect(retry.patch.notBefore).toBeLessThanOrEqual(1000 + 1600);
    expect(afterFailedAttempt({ attempts: 3 }, { maxAttempts: 4, nowMs: 1000, retryBaseMs: 100, lastError, giveUp })).toEqual({ event: 'give-up', patch: { lastError: giveUp } });
    // Without a new error, a retry keeps the version's own.
    expect(afterFailedAttempt({ attempts: 0 }, { maxAttempts: 4, nowMs: 0, retryBaseMs: 100, giveUp }).patch).not.toHaveProperty('lastError');
  });
  test('matches batch results by name, duplicates one to one', () => {
    const out = matchOutcomes(
      [
        { customName: 'a', urlFileName: 'a.mp3' },
        { customName: 'a', urlFileName: 'a2.mp3' },
        { customName: 'b', urlFileName: 'b.mp3' },
      ],
      { requestId: 'r', succeeded: [{ fileId: 1, customFileName: 'a', audioFileName: 'x' }, { fileId: 2, customFileName: 'a', audioFileName: 'y' }], failed: [{ fileName: 'b.mp3', message: 'bad' }] },
    );
    expect(out.map((o) => (o.status === 'uploaded' ? o.file.fileId : o.errorMessage))).toEqual([1, 2, 'bad']);
  });
  test('after a lost answer, the registration recorded for this job is ours, else the newest of the name that no job recorded', () => {
    const files = [
      { fileId: 7, customFileName: 'welcome', audioFileName: 'a' },
      { fileId: 9, customFileName: 'welcome', audioFileName: 'b' },
      { fileId: 8, customFileName: 'other', audioFileName: 'c' },
    ];
    expect(pickRegistration('welcome', files, new Map([[9, 'someone-else'], [7, undefined]]), 'me')?.fileId).toBe(7);
    expect(pickRegistration('welcome', files, new Map([[9, 'me'], [7, undefined]]), 'me')?.fileId).toBe(9);
    expect(pickRegistration('welcome', files, new Map([[9, 'x'], [7, 'y']]), 'me')).toBeUndefined();
    expect(pickRegistration('nobody', files, new Map(), 'me')).toBeUndefined();
    // One already recorded for this job comes first (its outcome could not be written after the
    // record was), even when a newer one nobody recorded is listed.
    expect(pickRegistration('welcome', files, new Map([[9, undefined], [7, 'me']]), 'me')?.fileId).toBe(7);
  });
});

describe('quota day', () => {
  test('follows the configured offset', () => {
    const t = Date.parse('2026-11-23T16:30:00Z');
    expect(quotaDay(t, 480)).toBe('2026-11-24');
    expect(quotaDay(t, 0)).toBe('2026-11-23');
    expect(quotaDay(t, -300)).toBe('2026-11-23');
    expect([parseUtcOffset('X', '+08:00'), parseUtcOffset('X', '-05:30'), parseUtcOffset('X', 'UTC')]).toEqual([480, -330, 0]);
  });
});

describe('config', () => {
  const base = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key' };
  test('defaults', () => {
    expect(loadConfig(base)).toMatchObject({ sdkAppId: 1400000001, urlExpiresSeconds: 600, dailyQuota: 50, ledgerPrefix: '.ivr-audio-sync/', quotaUtcOffsetMinutes: 480 });
  });
  test.each([
    ['IVR_LEDGER_PREFIX', 'prompts/ledger/', 'IVR_AUDIO_PREFIX'],
    ['IVR_AUDIO_PREFIX', '/prompts/', 'must not start'],
    ['IVR_AUDIO_PREFIX', 'prompts', 'must end with'],
    ['IVR_DAILY_QUOTA', '0', 'between'],
    ['IVR_REPORT_WEBHOOK', 'ftp://x', 'http'],
    ['COS_ENDPOINT', 'http://127.0.0.1:1/path', 'no path'],
  ])('%s=%s is refused', (name, value, message) => {
    expect(() => loadConfig({ ...base, IVR_AUDIO_PREFIX: 'prompts/', [name]: value })).toThrow(new RegExp(`${name}.*${message}`));
  });
});

describe('logging', () => {
  test('a signed URL quoted percent-encoded loses its signature, key id and token too', () => {
    const signed = 'https://b-1250000000.cos.ap-guangzhou.myqcloud.com/p/a.mp3?q-sign-algorithm=sha1&q-ak=AKIDexample123&q-signature=0123456789abcdef0123456789abcdef01234567&x-cos-security-token=SESSIONtoken+/=';
    const out = redact(`could not fetch ${encodeURIComponent(signed)} (url=${encodeURIComponent(signed)})`);
    expect(out).not.toMatch(/0123456789abcdef|AKIDexample123|SESSIONtoken/);
    expect(out).toContain('q-sign-algorithm%3Dsha1');
  });

  test('signatures, tokens, signed URLs and registered secrets never reach a line', () => {
    registerSecret('super-secret-key-123');
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    createLogger().error('boom', {
      url: 'http://b-1.cos.ap-gz.myqcloud.com/a.mp3?q-sign-algorithm=sha1&q-ak=AKID1&q-signature=abcdef0123&x-cos-security-token=tok',
      auth: 'TC3-HMAC-SHA256 Credential=AKID1/2026-01-01/ccc/tc3_request, SignedHeaders=content-type;host, Signature=' + 'a'.repeat(64),
      error: new Error('failed with super-secret-key-123'),
    });
    setLogSink(prev);
    expect(lines[0]).not.toMatch(/abcdef0123|super-secret-key-123|aaaaaaaaaaaaaaaa|tok\b|AKID1/);
    expect(lines[0]).toContain('a.mp3?[signed]');
    expect(redactUrl('http://x/y?z=1')).toBe('http://x/y?[signed]');
    expect(redact('plain')).toBe('plain');
    // The token as a signed URL quoted inside another URL (encoded twice), and inside a quoted JSON body.
    registerSecret('tok/en+with=chars"and\\more');
    const quoted = `https://x/?next=${encodeURIComponent(encodeURIComponent('tok/en+with=chars"and\\more'))}`;
    expect(redact(quoted)).toBe('https://x/?next=[REDACTED]');
    expect(redact(JSON.stringify({ body: JSON.stringify({ t: 'tok/en+with=chars"and\\more' }) }))).not.toMatch(/tok\/en|en\+with|with%3D/);
    expect(redact(`a=${encodeURIComponent('tok/en+with=chars"and\\more')}`)).toBe('a=[REDACTED]');
  });

  test('a signature or token quoted as JSON, or after a Signature word, is masked, and a log line stays valid JSON', () => {
    const sig = 'ab'.repeat(20);
    expect(redact(`{"q-signature":"${sig}","q-ak":"AKID1","x-cos-security-token":"tok123"}`)).toBe('{"q-signature":"[REDACTED]","q-ak":"[REDACTED]","x-cos-security-token":"[REDACTED]"}');
    expect(redact(`SignatureDoesNotMatch: ${sig}`)).toBe('SignatureDoesNotMatch: [REDACTED]');
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    createLogger().warn('refused', { error: `params {"q-signature":"${sig}","token":"tok123"} invalid` });
    setLogSink(prev);
    expect((JSON.parse(lines[0]) as { error: string }).error).toBe('params {"q-signature":"[REDACTED]","token":"[REDACTED]"} invalid');
  });

  test('a token in a JSON body that escapes its slashes, and a signature encoded twice, are masked whole', () => {
    // A registered token: its whole `\/` form goes (before, a pattern masked up to the backslash and left the tail).
    registerSecret('SESS/tail=xyz9');
    const body = '{"url":"https:\\/\\/b.cos.x\\/a?x-cos-security-token=SESS\\/tail=xyz9"}';
    expect(redact(body)).not.toMatch(/SESS|tail=xyz9|xyz9/);
    // Not registered (another process's token): the pattern takes the `\/` in as part of the value.
    expect(redact('{"u":"x-cos-security-token=OTHER\\/rest99"}')).toBe('{"u":"x-cos-security-token=[REDACTED]"}');
    const sig = 'cd'.repeat(20);
    const twice = encodeURIComponent(encodeURIComponent(`q-ak=AKID77&q-signature=${sig}&x-cos-security-token=tok/9`));
    expect(redact(`next=${twice}`)).toBe('next=q-ak%253D[REDACTED]%2526q-signature%253D[REDACTED]%2526x-cos-security-token%253D[REDACTED]');
  });

  test('an unregistered token in a quoted JSON body loses its tail in a log line too; short webhook settings are not secrets', () => {
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    createLogger().warn('refused', { error: 'service said {"Response":{"Token":"abc\\/def\\/ghi"}}' });
    setLogSink(prev);
    expect(lines[0]).not.toMatch(/def|ghi/);
    expect(JSON.parse(lines[0])).toMatchObject({ error: 'service said {"Response":{"Token":"[REDACTED]"}}' });
    // A query value such as `true` is a setting: registered, it would mask every `true` (and break the line's JSON).
    expect(urlSecrets('https://hook.example/send?key=robot-key-123456&debug=true')).not.toContain('true');
  });

  test('a long run of URL-like text is redacted at all (the old pattern backtracked for minutes on these 36 KB)', () => {
    const text = 'http://a?'.repeat(4000);
    expect(redact(text)).toBe(text);
    expect(redact(`${text}q-sign-algorithm=sha1&q-signature=abc`)).toBe('http://a?[signed]');
  });

  test('what a handler returns or throws is redacted as a log line is', () => {
    registerSecret('handler-secret-42');
    const out = redactDeep({ results: [{ message: 'refused: handler-secret-42', n: 1, ok: true }], url: 'http://b/a.mp3?q-sign-algorithm=sha1&q-signature=abcdef0123' });
    expect(out).toEqual({ results: [{ message: 'refused: [REDACTED]', n: 1, ok: true }], url: 'http://b/a.mp3?[signed]' });
    const e = new IvrError('NetworkError', 'outer handler-secret-42', { cause: new Error('inner handler-secret-42') });
    expect(redactError(e)).toBe(e);
    expect(e.message).toBe('outer [REDACTED]');
    expect(String(e.stack)).not.toContain('handler-secret-42');
    // The cause goes (Node would print its own properties, an SDK error's headers say), its message kept in the stack.
    expect(e.cause).toBeUndefined();
    expect(String(e.stack)).toContain('caused by Error: inner [REDACTED]');
  });

  test('a field merely ending in "token" is not masked; the session-token headers are, in either form', () => {
    expect(redact('{"nextToken":"abc123","token":"tok456"}')).toBe('{"nextToken":"abc123","token":"[REDACTED]"}');
    expect(redact('X-TC-Token: tok456, x-cos-security-token=tok789')).toBe('X-TC-Token: [REDACTED], x-cos-security-token=[REDACTED]');
  });

  test('a webhook password that is not valid percent-encoding does not cost the query its redaction', () => {
    expect(urlSecrets('https://robot:50%off@hook.example.com/send?key=SECRETKEY123')).toEqual(expect.arrayContaining(['SECRETKEY123', '50%off']));
  });

  test('text with lone surrogates is made well formed, so encoding it cannot throw', () => {
    expect(wellFormed('a\ud800b\udc00c\ud83d\ude00')).toBe('a\ufffdb\ufffdc\ud83d\ude00');
    expect(() => encodeURIComponent(wellFormed('\udfff'))).not.toThrow();
  });

  test("a caller's field named level, time or msg cannot replace the line's own", () => {
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    createLogger({ msg: 'base' }).warn('real message', { level: 'info', time: 'yesterday', msg: 'fake', key: 'a.mp3' });
    setLogSink(prev);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', msg: 'real message', key: 'a.mp3' });
    expect(Date.parse(line.time as string)).not.toBeNaN();
    expect(Object.keys(line).slice(0, 3)).toEqual(['level', 'time', 'msg']);
  });
});

describe('byte budget', () => {
  test('work is admitted by its bytes, never more than the budget at once; larger work runs alone; `between` runs when large work ends while more waits', async () => {
    let between = 0;
    const admit = byteBudget(10, () => between++);
    let inFlight = 0;
    let most = 0;
    const order: number[] = [];
    const release: Array<() => void> = [];
    const job = (bytes: number) =>
      admit(bytes, async () => {
        inFlight += Math.min(bytes, 10);
        most = Math.max(most, inFlight);
        order.push(bytes);
        await new Promise<void>((r) => release.push(r));
        inFlight -= Math.min(bytes, 10);
      });
    const all = Promise.all([job(4), job(4), job(30), job(1), job(6)]);
    // Let every job that may start, start; then finish them one by one.
    const settle = () => new Promise((r) => setImmediate(r));
    for (let i = 0; i < 10; i++) {
      await settle();
      release.shift()?.();
    }
    await all;
    expect(most).toBeLessThanOrEqual(10);
    expect(order.sort((a, b) => a - b)).toEqual([1, 4, 4, 6, 30]);
    // The jobs of 4, 4 and 6 bytes (a quarter of the budget or more) each end while others wait.
    expect(between).toBe(3);
  });
});

test('a webhook URL\'s key is a secret wherever the URL carries it', () => {
  expect(urlSecrets('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7x')).toEqual(['https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7x', '693a91f6-7x']);
  expect(urlSecrets('http://127.0.0.1:1/send#key=robotsecret')).toContain('key=robotsecret');
  expect(urlSecrets(undefined)).toEqual([]);
  for (const s of urlSecrets('http://127.0.0.1:1/send#key=robotsecret')) registerSecret(s);
  expect(redact('connect ECONNREFUSED (http://127.0.0.1:1/send#key=robotsecret)')).not.toContain('robotsecret');
});

describe('webhook outbox', () => {
  const LEASE = OUTBOX_LEASE_MS;
  test('a record is its writer\'s for one lease (plus the skew), then one window per lease, given up after its lifetime', () => {
    const at = 1_000_000;
    expect(outboxStep(at, at, 250)).toEqual({ kind: 'wait' });
    expect(outboxStep(at, at + LEASE, 250)).toEqual({ kind: 'wait' });
    expect(outboxStep(at, at + LEASE + 250, 250)).toEqual({ kind: 'post', window: 1 });
    expect(outboxStep(at, at + 2 * LEASE + 249, 250)).toEqual({ kind: 'post', window: 1 });
    expect(outboxStep(at, at + 2 * LEASE + 250, 250)).toEqual({ kind: 'post', window: 2 });
    expect(outboxStep(at, at + OUTBOX_LIFETIME_MS + 249, 250)).toEqual({ kind: 'post', window: OUTBOX_LIFETIME_MS / LEASE - 1 });
    expect(outboxStep(at, at + OUTBOX_LIFETIME_MS + 250, 250)).toEqual({ kind: 'give-up', window: OUTBOX_LIFETIME_MS / LEASE });
    // A record from a clock ahead of ours is still its writer's.
    expect(outboxStep(at, at - 5000, 250)).toEqual({ kind: 'wait' });
    expect(outboxStep(Number.NaN, at, 250)).toEqual({ kind: 'wait' });
  });

  test('the lease outlasts the timer function\'s timeout (its writer is gone by then), the lifetime a day', () => {
    const yml = fs.readFileSync(path.join(__dirname, '..', 'serverless.yml'), 'utf8');
    const timeout = Number(/report:[\s\S]*?timeout: (\d+)/.exec(yml)![1]);
    expect(OUTBOX_LEASE_MS).toBeGreaterThan(timeout * 1000);
    expect(OUTBOX_LIFETIME_MS).toBe(24 * 3600_000);
  });

  test('a drain reads only records past their lease; a claim goes only once its record is gone and it is older than a lifetime', () => {
    const now = 10 * OUTBOX_LIFETIME_MS;
    const P = '.ivr-audio-sync/outbox/';
    const listed = [
      { key: `${P}000000000000001-a-report-2026-11-25`, lastModified: now - LEASE },
      { key: `${P}000000000000001-a-report-2026-11-25.1`, lastModified: now - OUTBOX_LIFETIME_MS * 2 },
      { key: `${P}000000000000002-b-rejections`, lastModified: now - LEASE + 1 },
      { key: `${P}000000000000003-c-rejections.4`, lastModified: now - OUTBOX_LIFETIME_MS - LEASE },
      { key: `${P}000000000000004-d-rejections.2`, lastModified: now - OUTBOX_LIFETIME_MS },
    ];
    expect(planOutbox(listed, now)).toEqual({ records: [`${P}000000000000001-a-report-2026-11-25`], strayClaims: [`${P}000000000000003-c-rejections.4`] });
    expect(planOutbox([], now)).toEqual({ records: [], strayClaims: [] });
    expect(claimKey(`${P}x-rejections`, 3)).toBe(`${P}x-rejections.3`);
  });

  test('a drain tries the records tried longest ago first (never tried: oldest first), so records WeCom refuses for good cannot hold the rest back', () => {
    const now = 10 * OUTBOX_LIFETIME_MS;
    const P = '.ivr-audio-sync/outbox/';
    const listed = [
      { key: `${P}000000000000001-a-report-2026-11-25`, lastModified: now - 5 * LEASE },
      { key: `${P}000000000000001-a-report-2026-11-25.3`, lastModified: now - LEASE },
      { key: `${P}000000000000002-b-rejections`, lastModified: now - 4 * LEASE },
      { key: `${P}000000000000002-b-rejections.1`, lastModified: now - 3 * LEASE },
      { key: `${P}000000000000002-b-rejections.2`, lastModified: now - 2 * LEASE },
      { key: `${P}000000000000003-c-rejections`, lastModified: now - 3 * LEASE },
      { key: `${P}000000000000004-d-rejections`, lastModified: now - 2 * LEASE },
    ];
    expect(planOutbox(listed, now).records).toEqual([`${P}000000000000003-c-rejections`, `${P}000000000000004-d-rejections`, `${P}000000000000002-b-rejections`, `${P}000000000000001-a-report-2026-11-25`]);
  });

  test('a rejection record owes only the files whose marker its writer created', () => {
    const files = [
      { fileId: 1, key: 'p/a.mp3' },
      { fileId: 2, key: 'p/b.mp3' },
      { fileId: 3, key: 'p/c.mp3' },
    ];
    const markedBy = new Map<number, string | undefined>([
      [1, 'pass-1'],
      [2, 'pass-2'],
      [3, undefined],
    ]);
    expect(owedRejections(files, markedBy, 'pass-1')).toEqual(['p/a.mp3']);
    expect(owedRejections(files, markedBy, 'pass-3')).toEqual([]);
  });

  test('outbox records parse back as written; anything else is not one', () => {
    const report: OutboxRecord = { v: 1, kind: 'report', owner: 'o', at: 5, day: '2026-11-25', message: { msgtype: 'markdown', markdown: { content: 'hi' } } };
    const rejections: OutboxRecord = { v: 1, kind: 'rejections', owner: 'o', at: 5, files: [{ fileId: 7, key: 'p/a.mp3' }] };
    expect(parseOutboxRecord(JSON.stringify(report))).toEqual(report);
    expect(parseOutboxRecord(JSON.stringify(rejections))).toEqual(rejections);
    for (const bad of ['', 'null', '{}', JSON.stringify({ ...report, v: 2 }), JSON.stringify({ ...report, message: { msgtype: 'text' } }), JSON.stringify({ ...rejections, files: [{ fileId: 'x', key: 'k' }] }), JSON.stringify({ ...report, at: null })]) {
      expect(parseOutboxRecord(bad)).toBeUndefined();
    }
  });
});

test('a COS failure is worth another try when COS did not answer, failed on its side, failed a copy late (HTTP 200) or refused the credentials of this run; not for a missing permission or a missing key', () => {
  const t = (status: number | undefined, code: string, message?: string) => cosTransient({ status, code, message });
  expect([t(undefined, 'NetworkError'), t(503, 'ServiceUnavailable'), t(429, 'SlowDown'), t(200, 'InternalError'), t(403, 'SignatureDoesNotMatch'), t(403, 'AccessDenied', 'Request has expired')]).toEqual([true, true, true, true, true, true]);
  expect([t(403, 'AccessDenied', 'Access Denied.'), t(404, 'NoSuchKey'), t(409, 'FileAlreadyExists')]).toEqual([false, false, false]);
  expect(refusedKeysTransient([{ Code: 'InternalError' }, { Code: 'ExpiredToken' }])).toBe(true);
  expect(refusedKeysTransient([{ Code: 'InternalError' }, { Code: 'AccessDenied', Message: 'Access Denied.' }])).toBe(false);
});

test('a rate-limit refusal although calls are spaced doubles the wait each time, up to 30 gaps; a lost answer says what happened and when CCC is asked', () => {
  expect([1, 2, 3, 4, 5, 6].map((n) => rateLimitedUntil(1000, 1250, n) - 1000)).toEqual([2500, 5000, 10000, 20000, 37500, 37500]);
  expect(lostAnswerError({ kind: 'network', code: 'NetworkError', message: 'socket hang up' }, 30_000)).toEqual({
    code: 'OutcomeUnknown',
    message: 'no answer from CCC (socket hang up); CCC is asked whether it registered the file before anything is sent again, no sooner than 30 s from now',
    requestId: undefined,
  });
  expect(lostAnswerError({ kind: 'api', code: 'InternalError', message: 'busy', requestId: 'r-1' }, 30_000)).toMatchObject({ code: 'InternalError', message: expect.stringMatching(/^CCC answered InternalError \(busy\), which does not say whether it registered the file; /), requestId: 'r-1' });
});
