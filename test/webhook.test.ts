/**
 * The webhook client against WeCom stand-ins on 127.0.0.1: it posts again at once only when WeCom
 * cannot have taken the message, and never waits past its own timeout for an answer cut off.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { FakeWecom } from '../scripts/local/fakes/fake-wecom';
import { postWebhook } from '../shared/sdk/webhook';

test('a post that went out and got no answer is not posted again at once: WeCom may have taken it (the outbox posts it again later)', async () => {
  const fake = await new FakeWecom().start();
  const fates: Array<'take-and-drop'> = ['take-and-drop'];
  fake.onPost = () => fates.shift();
  try {
    const taken = await postWebhook(fake.url, { msgtype: 'markdown', markdown: { content: 'report' } }, async () => undefined);
    expect(taken).toMatchObject({ ok: false, attempts: 1, maybeTaken: true });
    expect(fake.accepted).toEqual(['report']);
    // WeCom answered with an error, or could not be reached: it did not take it, so the poster tries again.
    fake.answer = (_content, n) => (n === 1 ? [502, 'bad gateway'] : undefined);
    expect(await postWebhook(fake.url, { msgtype: 'markdown', markdown: { content: 'again' } }, async () => undefined)).toEqual({ ok: true, attempts: 2, status: 200 });
    const gone = fake.url;
    await fake.stop();
    expect(await postWebhook(gone, {}, async () => undefined)).toMatchObject({ ok: false, attempts: 3 });
    expect(fake.accepted).toEqual(['report', 'again']);
  } finally {
    await fake.stop().catch(() => undefined);
  }
  // An answer cut off part-way: not a hang until the function's timeout, but a post that may have been taken.
  const cut = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"errcode":0,', () => res.destroy());
    });
  });
  await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve));
  try {
    const port = (cut.address() as AddressInfo).port;
    expect(await postWebhook(`http://127.0.0.1:${port}/cgi-bin/webhook/send?key=k`, {}, async () => undefined, 3, 60_000)).toMatchObject({ ok: false, attempts: 1, maybeTaken: true, error: expect.stringContaining('cut off') });
  } finally {
    cut.close();
  }
});

test("a 200 answer that is not WeCom's JSON (a proxy's or captive portal's page) is not taken as posted", async () => {
  const proxy = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>Access blocked by proxy</html>');
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (proxy.address() as AddressInfo).port;
    const r = await postWebhook(`http://127.0.0.1:${port}/cgi-bin/webhook/send?key=k`, {}, async () => undefined);
    expect(r).toEqual({ ok: false, attempts: 3, status: 200, error: `HTTP 200 with an answer that is not WeCom's (no errcode) from http://127.0.0.1:${port}` });
  } finally {
    proxy.close();
  }
});
