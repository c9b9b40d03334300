/** A WeCom group robot stand-in on 127.0.0.1, for the tests of the report's and the rejections' webhook posts. */
import * as http from 'http';
import type { AddressInfo } from 'net';

/** WeCom's documented limit on `markdown.content`, bytes: a longer message is answered errcode 40058. */
const MAX_MARKDOWN_BYTES = 4096;

export interface WecomStandIn {
  url: string;
  /** Every body posted, in order. */
  bodies: string[];
  /** The markdown contents it accepted. */
  accepted: string[];
  close(): void;
}

/**
 * Answers each post with the next of `answers` (the last repeats), or with errcode 0 when none are
 * given; a markdown message over 4096 bytes is refused as WeCom refuses it, whatever the answers.
 */
export function wecomStandIn(answers: Array<[number, string]> = []): Promise<WecomStandIn> {
  const bodies: string[] = [];
  const accepted: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      let content = '';
      try {
        content = (JSON.parse(body) as { markdown?: { content?: string } }).markdown?.content ?? '';
      } catch {
        content = '';
      }
      if (Buffer.byteLength(content) > MAX_MARKDOWN_BYTES) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(`{"errcode":40058,"errmsg":"markdown.content exceed max length ${MAX_MARKDOWN_BYTES}"}`);
        return;
      }
      const [status, text] = answers.length > 0 ? answers[Math.min(bodies.length - 1, answers.length - 1)] : [200, '{"errcode":0,"errmsg":"ok"}'];
      if (status === 200 && /"errcode":0\b/.test(text)) accepted.push(content);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cgi-bin/webhook/send?key=secret-robot-key`, bodies, accepted, close: () => server.close() })),
  );
}
