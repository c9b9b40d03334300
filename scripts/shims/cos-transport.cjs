// The COS SDK's HTTP transport in the bundles: `cos-request` (Tencent's fork of `request`) reduced
// to the one call the SDK makes (`REQUEST(opt)` in sdk/base.js _submitRequest), on Node's http(s).
// Measured with `npm run bench`: request's per-call machinery (option merging, caseless headers, qs,
// a uuid per request, proxy lookups, its stream wrapper) was about a sixth of the warm CPU per file.
//
// Same wire behaviour as cos-request for what the SDK passes (method, url, headers, qs, a Buffer or
// string body or a piped stream, timeout, forever, followRedirect: false, strictSSL):
//   - `qs` is laid over the url's own query and written the way qs writes it (RFC 3986);
//   - `content-length` is set for a body, and to 0 for a body-less request other than GET;
//   - `forever` shares a keep-alive agent per protocol; `timeout` ends the request with
//     ETIMEDOUT while it connects (DNS included) or ESOCKETTIMEDOUT once connected, as request does;
//   - it starts on the next turn, like request, so the SDK's listeners and piped body come first;
//   - events: `response`, then `data` (Buffers) and `end`, or one `error`; `drain` while a piped
//     body is written; `req` is the ClientRequest; `abort()` ends it without an error.
// Anything else goes to the real cos-request, loaded then: a proxy (the SDK's `Proxy`/`Tunnel`
// options, or HTTP(S)_PROXY in the environment, which request honours unless NO_PROXY says not),
// redirects, other body types, nested query values. test/shims.test.ts compares both on the wire;
// test/bundle.test.ts drives the bundles through both paths against the signature-checking fake COS.
'use strict';
const { EventEmitter } = require('events');
const getProxyFromURI = require('cos-request/lib/getProxyFromURI.js');

// The real cos-request is needed only for a proxy, so it is not in the function bundles:
// scripts/build.mjs bundles it on its own as cos_request.js next to them (as it does the audio
// converter), and it is required from there at the first request that needs it. Run from the
// sources (jest), that file is not there and the package is.
const REAL_FILE = 'cos_request.js';
let real;
function realRequest() {
  if (real) return real;
  const side = require('path').join(__dirname, REAL_FILE);
  // A variable argument: esbuild leaves this require to run time instead of bundling the package.
  const target = require('fs').existsSync(side) ? side : 'cos-request';
  return (real = require(target));
}
const agents = new Map();

function agentFor(mod, protocol, opt) {
  if (!opt.forever) return undefined; // request: the module's global agent
  const rejectUnauthorized = opt.strictSSL !== false;
  const key = `${protocol}${rejectUnauthorized}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new mod.Agent(protocol === 'https:' ? { keepAlive: true, rejectUnauthorized } : { keepAlive: true });
    agents.set(key, agent);
  }
  return agent;
}

// qs.stringify's default encoding (RFC 3986): everything but A-Z a-z 0-9 - . _ ~ is escaped.
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const dec = (s) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
};

/** request's `qs` option: the url's query parsed, `qs` laid over it, written back (or left as it was if empty). */
function withQuery(path, qs) {
  const at = path.indexOf('?');
  const base = {};
  if (at !== -1) {
    for (const part of path.slice(at + 1).split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      base[dec(eq === -1 ? part : part.slice(0, eq))] = eq === -1 ? '' : dec(part.slice(eq + 1));
    }
  }
  Object.assign(base, qs);
  const pairs = [];
  for (const k of Object.keys(base)) {
    const v = base[k];
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object') return undefined; // nested values: qs's own format
    pairs.push(`${enc(k)}=${v === null ? '' : enc(String(v))}`);
  }
  if (pairs.length === 0) return path;
  return (at === -1 ? path : path.slice(0, at)) + '?' + pairs.join('&');
}

const URL_RE = /^(https?:)\/\/([^/?#]+)([^#]*)$/;

/** What this transport does not do itself (see the top of the file). */
function needsRealRequest(opt, m) {
  if (!m || opt.proxy || opt.tunnel !== undefined || opt.followRedirect !== false) return true;
  if (opt.body != null && typeof opt.body !== 'string' && !Buffer.isBuffer(opt.body)) return true;
  const host = m[2];
  const colon = host.lastIndexOf(':');
  const uri = { protocol: m[1], hostname: colon > host.lastIndexOf(']') ? host.slice(0, colon) : host, port: colon > host.lastIndexOf(']') ? host.slice(colon + 1) : '' };
  return getProxyFromURI(uri) != null;
}

/**
 * A request the SDK treats like cos-request's Request: events response, data, end, error (and
 * drain while a piped body is written); `req`; `abort()`; a readable stream may be piped into it
 * (the SDK's streamed uploads) and it may be piped into a writable (streamed downloads).
 */
class Sender extends EventEmitter {
  constructor(opt, m) {
    super();
    this.req = undefined;
    this._opt = opt;
    this._m = m;
    this._done = false;
    this._src = undefined;
    this._pending = [];
    this._ended = false;
    this._dest = undefined;
    this.on('pipe', (src) => (this._src = src));
    // Like request, start on the next turn: the SDK adds its listeners, or pipes a body in, first.
    setImmediate(() => this._start());
  }

  _start() {
    if (this._done) return;
    const opt = this._opt;
    const [, protocol, hostport, path] = this._m;
    const mod = protocol === 'https:' ? require('https') : require('http');
    const colon = hostport.lastIndexOf(':');
    const hasPort = colon > hostport.lastIndexOf(']');
    const method = opt.method || 'GET';
    const headers = Object.assign({}, opt.headers);
    const has = (name) => Object.keys(headers).some((k) => k.toLowerCase() === name);
    const body = opt.body == null ? undefined : opt.body;
    if (!this._src && !has('content-length')) {
      if (body !== undefined) headers['content-length'] = Buffer.isBuffer(body) ? body.length : Buffer.byteLength(body);
      else if (method !== 'GET') headers['content-length'] = 0;
    }
    const options = {
      method,
      host: (hasPort ? hostport.slice(0, colon) : hostport).replace(/^\[|\]$/g, ''),
      port: hasPort ? Number(hostport.slice(colon + 1)) : undefined,
      path: path[0] === '/' ? path : '/' + path,
      headers,
      agent: agentFor(mod, protocol, opt),
    };
    if (protocol === 'https:' && opt.strictSSL === false) options.rejectUnauthorized = false;
    let req;
    try {
      req = mod.request(options);
    } catch (e) {
      this._fail(e);
      return;
    }
    this.req = req;
    req.on('response', (res) => this._response(res));
    req.on('error', (e) => this._fail(e));
    req.on('drain', () => this.emit('drain'));
    const timeout = opt.timeout;
    if (typeof timeout === 'number' && timeout > 0) {
      // As request does: while the socket connects (DNS included) a timer of our own, which
      // Node's socket timeout does not cover; once connected (or reused), the socket's idle timeout.
      const idle = () =>
        req.setTimeout(timeout, () => {
          const e = new Error('ESOCKETTIMEDOUT');
          e.code = 'ESOCKETTIMEDOUT';
          e.connect = false;
          this._fail(e);
          req.destroy();
        });
      req.once('socket', (socket) => {
        if (!socket.connecting) return idle();
        const timer = setTimeout(() => {
          socket.removeListener('connect', onConnect);
          const e = new Error('ETIMEDOUT');
          e.code = 'ETIMEDOUT';
          e.connect = true;
          this._fail(e);
          req.destroy();
        }, timeout);
        const onConnect = () => {
          clearTimeout(timer);
          idle();
        };
        socket.once('connect', onConnect);
        req.once('error', () => {
          clearTimeout(timer);
          socket.removeListener('connect', onConnect);
        });
      });
    }
    if (!this._src) {
      req.end(body);
      return;
    }
    for (const chunk of this._pending) req.write(chunk);
    this._pending = [];
    if (this._ended) req.end();
  }

  _response(res) {
    if (this._done) return;
    this.response = res;
    this.emit('response', res);
    if (this._dest) res.pipe(this._dest);
    res.on('data', (chunk) => this.emit('data', chunk));
    res.on('end', () => {
      if (this._done) return;
      this._done = true;
      this.emit('end');
    });
    res.on('error', (e) => this._fail(e));
    res.on('aborted', () => {
      const e = new Error('aborted');
      e.code = 'ECONNRESET';
      this._fail(e);
    });
  }

  _fail(e) {
    if (this._done) return;
    this._done = true;
    this.emit('error', e);
  }

  /** A piped-in body chunk (Writable side). */
  write(chunk) {
    if (!this.req) {
      this._pending.push(chunk);
      return true;
    }
    return this.req.write(chunk);
  }

  /** The end of a piped-in body. */
  end(chunk) {
    if (chunk) this.write(chunk);
    if (this.req) this.req.end();
    else this._ended = true;
  }

  /** Streams the answer's body into `dest` as well. */
  pipe(dest) {
    this._dest = dest;
    return dest;
  }

  abort() {
    if (this._done) return;
    this._done = true;
    if (this.req) this.req.destroy();
    this.emit('abort');
  }
}

/** cos-request's `request(options)`, as sdk/base.js calls it. */
function request(opt) {
  const m = URL_RE.exec(opt.url || opt.uri || '');
  const path = m && opt.qs ? withQuery(m[3] || '/', opt.qs) : m && m[3];
  if (needsRealRequest(opt, m) || path === undefined) return realRequest()(opt);
  return new Sender(opt, [m[0], m[1], m[2], path]);
}

module.exports = request;
