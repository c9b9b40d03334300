/**
 * Structured logging: one JSON object per line, one line per decision. Everything passes through
 * `redact` so that secrets, session tokens, signatures and signed URLs never reach the log even
 * when they hide inside an error message from an SDK.
 */
import type { ErrorCode, SkipCode } from '../core/errors';
import { tryDecodeURIComponent, wellFormed } from '../core/text';

/** A line's severity; `debug` lines are written only by a logger made with {@link LoggerOptions.debug}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/**
 * Structured fields merged into a line's JSON object; Errors are reduced to name, message and code.
 * `code` is one of the error codes, or why a record was skipped (a misspelt one does not compile).
 */
export type LogFields = { code?: ErrorCode | SkipCode } & Record<string, unknown>;
/** Receives each finished, already redacted line (one JSON object, without the newline). */
export type LogSink = (line: string) => void;

let sink: LogSink = (line) => {
  process.stdout.write(line + '\n');
};
// Every registered form of every secret, longest first: a form that is part of a longer one
// (of another secret too) must not go first and leave the rest of that one behind.
let secrets: string[] = [];

/** Tests and the local stack capture log lines through this; production writes to stdout. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

/**
 * The forms a secret takes in a line: as it is, percent-encoded once (a query value, a URL quoted
 * in a message) and twice (a signed URL quoted inside another URL), and each of those escaped as
 * a JSON string once (the line itself serialised) and twice (a service's JSON error body quoted in
 * a message, then the line). Longest first, so a form never leaves part of a longer one behind.
 */
function secretForms(value: string): string[] {
  const once = encodeURIComponent(value);
  const forms = new Set([value, once, encodeURIComponent(once)]);
  const json = (f: string) => JSON.stringify(f).slice(1, -1);
  // Some services' JSON escapes `/` as `\/` (legal JSON; JSON.stringify never does it).
  const slashes = (f: string) => f.replace(/\//g, '\\/');
  for (const f of [...forms]) forms.add(json(f)).add(json(json(f))).add(slashes(json(f))).add(json(slashes(json(f))));
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Values registered here are replaced wherever they appear in a log line, in any of their {@link secretForms}. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets = [...new Set([...secrets, ...secretForms(value)])].sort((a, b) => b.length - a.length);
}

/**
 * The parts of a URL that are its credential, wherever it carries them: every query value and the
 * fragment (a WeCom robot's `?key=`), a user name and password, path segments long enough to be a
 * token (a Slack-style hook's), and the URL itself. Empty for no URL or one that does not parse.
 */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const u = new URL(url);
    // Both as written and decoded (`%` that is not an escape stays as it is: never a reason to lose the rest).
    const userInfo = [u.username, u.password].flatMap((p) => [p, tryDecodeURIComponent(p) ?? p]);
    const tokens = u.pathname.split('/').filter((p) => p.length >= 16);
    // Query values as short as `true` or `1234` are settings, not credentials, and masking them
    // would mask every `true` in a line (and break its JSON).
    const query = [...u.searchParams.values()].filter((v) => v.length >= 8);
    return [url, ...query, u.hash.slice(1), ...userInfo, ...tokens].filter((v) => v.length >= 4);
  } catch {
    return [url];
  }
}

/** Where a URL points, for messages: its scheme and host only (its user info, path and query may be its credential). */
export function urlOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(an address that does not parse)';
  }
}

// How a field meets its value: in a query or header (`=`), percent-encoded once or twice (a URL
// quoted inside another URL or a form value: `=` as %3D or %253D, `&` as %26 or %2526), or as a
// JSON member (`"field":"value"`, also escaped inside a log line's JSON string).
const IS = String.raw`(?:=|%3D|%253D|\\?"\s*:\s*\\?")`;
// A field's value runs to the next separator: `&` (also percent-encoded), white space, a quote or
// a backslash, except the `\/` of a JSON body that escapes its slashes (a token's `/` in it),
// also as a log line's JSON writes it (`\\/`), or a quoted body in it (`\\\/`).
const VALUE = String.raw`(?:\\{1,3}\/|(?!%26|%2526)[^&\s"'\\])+`;
const SIGNATURE_PATTERNS: Array<[RegExp, string]> = [
  // COS q-sign fields, in Authorization headers and in signed URL queries
  [new RegExp(String.raw`(q-signature${IS})[0-9a-fA-F]+`, 'gi'), '$1[REDACTED]'],
  [new RegExp(String.raw`(q-ak${IS})${VALUE}`, 'gi'), '$1[REDACTED]'],
  // A token: a query or JSON field named exactly `token` (not `nextToken`), and the session-token
  // headers, also as `Name: value`
  [new RegExp(String.raw`((?:x-cos-security-token|X-TC-Token|(?<![\w-])token)${IS})${VALUE}`, 'gi'), '$1[REDACTED]'],
  [/((?:x-cos-security-token|X-TC-Token):\s*)[^\s"'\\,;]+/gi, '$1[REDACTED]'],
  // A signature after any Signature word: the TC3 Authorization header's `Signature=`, and a
  // service's code or message quoting one (`SignatureDoesNotMatch:<hex>`)
  [new RegExp(String.raw`(Signature\w*(?:${IS}|:\s*))[0-9a-fA-F]{16,}`, 'gi'), '$1[REDACTED]'],
  [/(Credential=)[^/\s,]+/g, '$1[REDACTED]'],
];

/** Signed URLs are reduced to their address: the query is the credential. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q) + '?[signed]';
}

/** Masks signed-URL queries, COS and TC3 signature fields, tokens and every registered secret in `text`. */
export function redact(text: string): string {
  // Registered secrets first: a pattern that masks part of one (up to a character it stops at)
  // would leave the rest, which then no longer matches the whole secret.
  let out = text;
  for (const s of secrets) out = out.split(s).join('[REDACTED]');
  // One run of URL characters, then a look inside it: a pattern that finds the `?` and `q-sign` itself
  // backtracks over every `?` (seconds on a few KB of service text).
  out = out.replace(/https?:\/\/[^\s"'<>]+/g, (m) => {
    const q = m.indexOf('?');
    return q !== -1 && m.includes('q-sign', q) ? redactUrl(m) : m;
  });
  for (const [re, rep] of SIGNATURE_PATTERNS) out = out.replace(re, rep);
  return out;
}

/**
 * `value` with every string in it redacted (plain data: arrays and objects are copied). For what a
 * handler returns, which SCF shows and logs as it is: a message quoted from an error may carry a
 * secret as any log line may.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}

/**
 * Redacts an error on its way out of a handler, in place (its class is kept). SCF prints the
 * message and the stack, and Node's inspect prints each cause with every property of its own (a
 * COS SDK error's headers and body among them): so the causes' messages are added to the stack,
 * redacted, and the causes themselves go.
 */
export function redactError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const causes: string[] = [];
  for (let cur: unknown = e.cause, depth = 0; cur !== undefined && depth < 10; cur = cur instanceof Error ? cur.cause : undefined, depth++) {
    causes.push(cur instanceof Error ? `${cur.name}: ${cur.message}` : String(cur));
  }
  e.message = redact(e.message);
  e.stack = redact([e.stack ?? `${e.name}: ${e.message}`, ...causes.map((c) => `  caused by ${c}`)].join('\n'));
  delete e.cause;
  return e;
}

/**
 * Text a service sent back (an error code or message, a RequestId, a file name), before it goes
 * anywhere: a hostile or broken answer may echo a token or a signature, or carry lone surrogates.
 */
export function fromService(text: string): string {
  return redact(wellFormed(text));
}

/** {@link redact}, and `extra` secrets as well (a process that does not register them, like the deploy scripts). */
export function redactWith(text: string, extra: Iterable<string>): string {
  // The extra secrets before the patterns, as redact does with its own (see there).
  let out = text;
  for (const s of extra) if (s) for (const f of secretForms(s)) out = out.split(f).join('[REDACTED]');
  return redact(out);
}

function serialise(fields: LogFields): string {
  return JSON.stringify(fields, (_k, v: unknown) => {
    if (v instanceof Error) return { name: v.name, message: v.message, code: (v as { code?: unknown }).code };
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** Writes one JSON line per call: `level`, `time`, `msg`, the logger's own fields and the call's. */
export interface Logger {
  /** Detail for debugging (each job move); written only with `IVR_LOG_DEBUG=1`. */
  debug(msg: string, fields?: LogFields): void;
  /** A decision or outcome an operator may search for. */
  info(msg: string, fields?: LogFields): void;
  /** Something went wrong that is worked around, or that concerns one file (a refusal, a status not written). */
  warn(msg: string, fields?: LogFields): void;
  /** Something not done that needs a redelivery, a later pass or the operator (a bad setting, a failed webhook), or a bug. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (they win over the parent's of the same name). */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}, kept by its children. */
export interface LoggerOptions {
  /** Write `debug` lines too (`IVR_LOG_DEBUG=1`: the configuration decides, see `debugLogging`). */
  debug?: boolean;
}

/** A logger with `base` in every line. It writes to whatever sink is set when a line is written (see `setLogSink`). */
export function createLogger(base: LogFields = {}, opts: LoggerOptions = {}): Logger {
  const write = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (level === 'debug' && !opts.debug) return;
    const own = { level, time: new Date().toISOString(), msg };
    // A field named like one of ours cannot pass for it (nor hide the real message); ours stay first.
    const line = serialise(Object.assign({}, own, base, fields, own));
    sink(redact(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, opts),
  };
}
