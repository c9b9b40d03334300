// cos-request builds one jar at load time but only uses it when a request passes `jar`, which
// the COS SDK never does. This jar stores nothing.
class CookieJar {
  setCookie(_c, _u, _o, cb) { if (typeof cb === 'function') cb(null); }
  setCookieSync() {}
  getCookieString(_u, _o, cb) { if (typeof cb === 'function') cb(null, ''); return ''; }
  getCookieStringSync() { return ''; }
  getCookies(_u, _o, cb) { if (typeof cb === 'function') cb(null, []); return []; }
  getCookiesSync() { return []; }
}
module.exports = { CookieJar, Cookie: { parse: () => undefined } };
