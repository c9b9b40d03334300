// node-fetch in the bundles, for its one caller: the CCC SDK (tencentcloud-sdk-nodejs
// common/http/fetch.js), which calls `fetch(url, { method, headers, body, agent, timeout, signal })`
// with a string body and reads `status`, `statusText`, `headers.get()` and `json()` (or `text()`).
// node-fetch's Request/Response/Headers classes and body streams were about a fifth of the CPU of a
// CCC call, and ~19 KB of every bundle; this does the same on Node's http(s) directly.
//
// Same wire behaviour as node-fetch 2 for those calls: its default headers (Accept, User-Agent,
// Accept-Encoding) and Content-Length; gzip/deflate answers inflated; the same errors, with the same
// messages and `type`s ('system' with the socket's code, 'request-timeout' before the answer,
// 'body-timeout' while reading it, 'invalid-json'; an AbortError for a signal). Redirects, which CCC
// never sends, are returned as they are rather than followed. test/shims.test.ts compares both
// against a recording server.
'use strict';

const DEFAULT_UA = 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)';

/** node-fetch's error class: `type`, and `code`/`errno` of a system error. */
class FetchError extends Error {
  constructor(message, type, systemError) {
    super(message);
    this.type = type;
    if (systemError) this.code = this.errno = systemError.code;
    Error.captureStackTrace(this, this.constructor);
  }
}
FetchError.prototype.name = 'FetchError';

class AbortError extends Error {
  constructor(message) {
    super(message);
    this.type = 'aborted';
    Error.captureStackTrace(this, this.constructor);
  }
}
AbortError.prototype.name = 'AbortError';

/** The answer's headers, read case-insensitively like a fetch Headers (repeated values joined). */
class ResponseHeaders {
  constructor(raw) {
    this._raw = raw;
  }
  get(name) {
    const v = this._raw[String(name).toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : String(v);
  }
  has(name) {
    return this._raw[String(name).toLowerCase()] !== undefined;
  }
}

/**
 * The answer. Its body is read as soon as it arrives, as node-fetch does (it pipes every answer into
 * a buffer): a caller that never reads it (the CCC SDK throws on a non-200 status without reading)
 * still gives the keep-alive socket back. The body timeout counts from json()/text(), as there.
 */
class Response {
  constructor(res, url, timeout, signal, method) {
    this.url = url;
    this.status = res.statusCode;
    this.statusText = res.statusMessage;
    this.ok = res.statusCode >= 200 && res.statusCode < 300;
    this.headers = new ResponseHeaders(res.headers);
    this.bodyUsed = false;
    this._res = res;
    this._timeout = timeout;
    this._signal = signal;
    this._method = method;
    this._chunks = [];
    this._outcome = undefined; // { body } or { error }, once the body has ended or failed
    this._waiting = [];
    const settle = (outcome) => {
      if (this._outcome) return;
      this._outcome = outcome;
      for (const w of this._waiting.splice(0)) w(outcome);
    };
    res.on('data', (c) => this._chunks.push(c));
    res.on('end', () => settle({ body: Buffer.concat(this._chunks) }));
    res.on('error', (e) => settle({ error: new FetchError(`Invalid response body while trying to fetch ${url}: ${e.message}`, 'system', e) }));
    res.on('aborted', () => settle({ error: new FetchError(`Invalid response body while trying to fetch ${url}: Premature close`, 'system', { code: 'ERR_STREAM_PREMATURE_CLOSE' }) }));
  }

  /** The whole body, inflated when the answer says it is compressed. */
  buffer() {
    if (this.bodyUsed) return Promise.reject(new TypeError(`body used already for: ${this.url}`));
    this.bodyUsed = true;
    return new Promise((resolve, reject) => {
      let timer;
      let finished = false;
      const signal = this._signal;
      const onAbort = () => once({ error: new AbortError('The user aborted a request.') });
      const done = (outcome) => {
        clearTimeout(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
        if (outcome.error) return reject(outcome.error);
        try {
          resolve(this._decode(outcome.body));
        } catch (e) {
          reject(new FetchError(`Invalid response body while trying to fetch ${this.url}: ${e.message}`, 'system', e));
        }
      };
      if (this._outcome) return done(this._outcome);
      if (signal && signal.aborted) return done({ error: new AbortError('The user aborted a request.') });
      const once = (outcome) => {
        if (finished) return;
        finished = true;
        done(outcome);
      };
      this._waiting.push(once);
      if (this._timeout) {
        timer = setTimeout(() => {
          once({ error: new FetchError(`Response timeout while trying to fetch ${this.url} (over ${this._timeout}ms)`, 'body-timeout') });
          this._res.destroy();
        }, this._timeout);
      }
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Inflates a gzip/deflate body, leniently like node-fetch (a truncated answer gives what inflated). */
  _decode(body) {
    const coding = String(this._res.headers['content-encoding'] || '').toLowerCase();
    const skip = this._method === 'HEAD' || this.status === 204 || this.status === 304;
    if (skip || (coding !== 'gzip' && coding !== 'x-gzip' && coding !== 'deflate' && coding !== 'x-deflate')) return body;
    const zlib = require('zlib');
    const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (coding.endsWith('gzip')) return zlib.gunzipSync(body, flush);
    // node-fetch looks at the first byte: a zlib header, or raw deflate.
    return (body[0] & 0x0f) === 0x08 ? zlib.inflateSync(body, flush) : zlib.inflateRawSync(body, flush);
  }

  text() {
    return this.buffer().then((b) => b.toString());
  }

  json() {
    return this.buffer().then((b) => {
      try {
        return JSON.parse(b.toString());
      } catch (e) {
        throw new FetchError(`invalid json response body at ${this.url} reason: ${e.message}`, 'invalid-json');
      }
    });
  }

  get body() {
    return this._res;
  }
}

function fetch(url, opts = {}) {
  return new Promise((resolve, reject) => {
    let parsed;
    try {
      parsed = new URL(url);
    } catch (e) {
      throw new TypeError(`Invalid URL: ${url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('Only HTTP(S) protocols are supported');
    const method = (opts.method || 'GET').toUpperCase();
    const headers = {};
    const names = new Map();
    // node-fetch's Headers: names are case-insensitive and the first spelling is kept.
    const set = (k, v) => {
      const lower = k.toLowerCase();
      const name = names.get(lower) || k;
      names.set(lower, name);
      headers[name] = String(v);
    };
    for (const [k, v] of Object.entries(opts.headers || {})) if (v !== undefined) set(k, v);
    const has = (k) => names.has(k.toLowerCase());
    if (!has('accept')) set('Accept', '*/*');
    const body = opts.body == null ? null : opts.body;
    if (body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) throw new TypeError('fetch-lite sends string or Buffer bodies only (the CCC SDK sends JSON)');
    if (body === null && /^(POST|PUT)$/.test(method)) set('Content-Length', '0');
    if (body !== null) set('Content-Length', String(Buffer.byteLength(body)));
    if (!has('user-agent')) set('User-Agent', DEFAULT_UA);
    if (opts.compress !== false && !has('accept-encoding')) set('Accept-Encoding', 'gzip,deflate');
    const signal = opts.signal;
    if (signal && signal.aborted) return reject(new AbortError('The user aborted a request.'));

    const mod = parsed.protocol === 'https:' ? require('https') : require('http');
    const agent = typeof opts.agent === 'function' ? opts.agent(parsed) : opts.agent;
    const req = mod.request({
      protocol: parsed.protocol,
      hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
      port: parsed.port || undefined,
      path: parsed.pathname + parsed.search,
      method,
      headers,
      agent,
    });
    let timer;
    let settled = false;
    const finish = (fn, v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
      fn(v);
    };
    const onAbort = () => {
      finish(reject, new AbortError('The user aborted a request.'));
      req.destroy();
    };
    if (signal) signal.addEventListener('abort', onAbort);
    if (opts.timeout) {
      req.once('socket', () => {
        timer = setTimeout(() => {
          finish(reject, new FetchError(`network timeout at: ${url}`, 'request-timeout'));
          req.destroy();
        }, opts.timeout);
      });
    }
    req.on('error', (e) => finish(reject, new FetchError(`request to ${url} failed, reason: ${e.message}`, 'system', e)));
    req.on('response', (res) => finish(resolve, new Response(res, url, opts.timeout || 0, signal, method)));
    req.end(body === null ? undefined : body);
  });
}

module.exports = fetch;
module.exports.default = fetch;
module.exports.FetchError = FetchError;
module.exports.AbortError = AbortError;
