/** Posts a JSON body to the report webhook, with a few retries; never throws. */
import { request as httpRequest } from 'http';
import { request as httpsRequest } from 'https';
import { fromService, urlOrigin } from '../runtime/log';

/** How a post went: attempts made, and the last HTTP status or error (naming only the URL's host: the rest may be its key). */
export interface WebhookResult {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
  /**
   * WeCom's non-zero `errcode` when it answered and refused this message (WeCom itself is up);
   * unset when it could not be reached or answered with an HTTP error.
   */
  errcode?: number;
  /**
   * The whole message went out and no answer came back (the connection dropped, or the answer was
   * late): WeCom may have taken it, so it was not posted again at once (a later pass does, from
   * the outbox, once per lease window).
   */
  maybeTaken?: true;
}

/** A post that failed without an answer; `sent`: the whole body had gone out (WeCom may have taken it). */
class NoAnswer extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
  }
}

function postOnce(url: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let sent = false;
    // A connection of its own (posts are rare): a kept-alive one the server has since closed would
    // fail after the message went out, which reads as "WeCom may have taken it".
    const req = request(u, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, timeout: timeoutMs, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      // Only the start matters (a status or an errcode): keep at most 2000 characters in all.
      res.on('data', (c: string) => (text += c.slice(0, Math.max(0, 2000 - text.length))));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      // An answer cut off part-way ends with neither 'end' nor a request error: without this the
      // post, and the timer pass behind it, would wait until SCF's timeout (a review found it).
      res.on('close', () => {
        if (!res.complete) reject(new NoAnswer('the answer was cut off', true));
      });
    });
    req.on('finish', () => (sent = true));
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new NoAnswer(e.message, sent)));
    req.end(body);
  });
}

/** How the workflow posts to the report webhook (see {@link postWebhook}); tests wire in their own. */
export type WebhookPoster = (url: string, payload: unknown) => Promise<WebhookResult>;

/** {@link postWebhook} as a {@link WebhookPoster}, its pauses on `sleep` (the context's clock). */
export const webhookPoster =
  (sleep: (ms: number) => Promise<void>): WebhookPoster =>
  (url, payload) =>
    postWebhook(url, payload, sleep);

/** WeCom's `errcode` in an answer's body; undefined when the body is not WeCom's JSON. */
function weComErrcode(text: string): number | undefined {
  try {
    const code = (JSON.parse(text) as { errcode?: unknown } | null)?.errcode;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Posts `payload` as JSON, up to `attempts` times with a doubling pause from 0.5 s. Succeeds on a
 * 2xx whose body is WeCom's `{"errcode":0}`; each attempt times out after `timeoutMs`. Posted
 * again only when WeCom cannot have taken it (it answered with an error, or the message never went
 * out): after a message sent with no answer, posting it again at once is what made the fault suite
 * see a report 4 times; the outbox posts it again later (at least once, one post per window).
 */
export async function postWebhook(url: string, payload: unknown, sleep: (ms: number) => Promise<void>, attempts = 3, timeoutMs = 5000): Promise<WebhookResult> {
  const body = JSON.stringify(payload);
  let last: WebhookResult = { ok: false, attempts: 0 };
  for (let i = 1; i <= attempts; i++) {
    try {
      const { status, text } = await postOnce(url, body, timeoutMs);
      // WeCom answers HTTP 200 with {"errcode":0} on success and a non-zero errcode otherwise.
      // Anything else (a proxy's or captive portal's page, with 200) is not WeCom having taken it:
      // counted as posted, the message would never be posted again.
      const errcode = weComErrcode(text);
      const ok2xx = status >= 200 && status < 300;
      if (ok2xx && errcode === 0) return { ok: true, attempts: i, status };
      const said = errcode === undefined ? (ok2xx ? ' with an answer that is not WeCom\'s (no errcode)' : '') : errcode !== 0 ? ` errcode ${errcode}` : '';
      last = { ok: false, attempts: i, status, error: `HTTP ${status}${said} from ${urlOrigin(url)}`, ...(errcode && ok2xx ? { errcode } : {}) };
    } catch (e) {
      last = { ok: false, attempts: i, error: `${fromService(e instanceof Error ? e.message : String(e))} (${urlOrigin(url)})` };
      if (e instanceof NoAnswer && e.sent) return { ...last, maybeTaken: true };
    }
    if (i < attempts) await sleep(500 * 2 ** (i - 1));
  }
  return last;
}
