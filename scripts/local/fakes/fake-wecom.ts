/**
 * A WeCom group robot stand-in on 127.0.0.1 (`/cgi-bin/webhook/send?key=…`), for the tests of the
 * report's and the rejections' webhook posts and for the fault suite. It answers as WeCom does:
 * HTTP 200 with `{"errcode":0,"errmsg":"ok"}`, or a non-zero errcode; a markdown message over
 * 4096 bytes is refused with errcode 40058 whatever else was asked.
 */
import type * as http from 'http';
import { LoopbackServer } from './loopback-server';

/** WeCom's documented limit on `markdown.content`, bytes: a longer message is answered errcode 40058. */
const MAX_MARKDOWN_BYTES = 4096;

/** An answer: HTTP status and body. */
export type WecomAnswer = [number, string];

/** WeCom's answer to a message it took. */
const WECOM_OK: WecomAnswer = [200, '{"errcode":0,"errmsg":"ok"}'];

/** One post as the stand-in received it, and whether WeCom would have shown it to the group. */
export interface WecomPost {
  /** The raw body posted. */
  body: string;
  /** Its `markdown.content` ('' when there is none). */
  content: string;
  /** WeCom took it (answered, or about to answer, errcode 0): the group sees it. */
  accepted: boolean;
}

/** The stand-in itself (see the module comment): records every post; a test steers its answers with `answer` and `onPost`. */
export class FakeWecom extends LoopbackServer {
  /** Every post, in arrival order. */
  readonly posts: WecomPost[] = [];
  /**
   * The answer to a post (default: errcode 0). Called with the post's markdown and its arrival
   * number (0-based); undefined means errcode 0.
   */
  answer?: (content: string, n: number) => WecomAnswer | undefined;
  /**
   * Called when a post arrives, before it is answered. Returning 'drop' closes the connection
   * unanswered and the message is not taken; 'take-and-drop' takes the message (the group sees
   * it) and then closes the connection unanswered: the poster cannot tell the two apart. The
   * fault suite kills the posting process here.
   */
  onPost?: (content: string) => 'drop' | 'take-and-drop' | undefined;

  constructor(port?: number) {
    super(port, (req, res) => this.handle(req, res));
  }

  /** The URL to configure as IVR_REPORT_WEBHOOK. */
  get url(): string {
    return `${this.endpoint}/cgi-bin/webhook/send?key=secret-robot-key`;
  }

  /** The markdown contents taken, in order. */
  get accepted(): string[] {
    return this.posts.filter((p) => p.accepted).map((p) => p.content);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    req.setEncoding('utf8');
    for await (const c of req) body += c as string;
    let content = '';
    try {
      content = (JSON.parse(body) as { markdown?: { content?: string } }).markdown?.content ?? '';
    } catch {
      // Not JSON: kept as a post without content (the product only ever posts JSON).
    }
    const n = this.posts.length;
    const post: WecomPost = { body, content, accepted: false };
    this.posts.push(post);
    const json = (a: WecomAnswer) => res.writeHead(a[0], { 'Content-Type': 'application/json' }).end(a[1]);
    if (Buffer.byteLength(content) > MAX_MARKDOWN_BYTES) return void json([200, `{"errcode":40058,"errmsg":"markdown.content exceed max length ${MAX_MARKDOWN_BYTES}"}`]);
    const fate = this.onPost?.(content);
    if (fate === 'take-and-drop') post.accepted = true;
    if (fate) return void res.destroy();
    const answer = this.answer?.(content, n) ?? WECOM_OK;
    if (answer[0] === 200 && /"errcode":0\b/.test(answer[1])) post.accepted = true;
    json(answer);
  }
}
