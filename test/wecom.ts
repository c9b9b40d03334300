/** The WeCom group robot stand-in (scripts/local/fakes/fake-wecom.ts), as the tests of the report's and the rejections' webhook posts use it. */
import { FakeWecom, type WecomAnswer } from '../scripts/local/fakes/fake-wecom';

export interface WecomStandIn {
  url: string;
  /** Every body posted, in order. */
  readonly bodies: string[];
  /** The markdown contents it accepted. */
  readonly accepted: string[];
  close(): void;
}

/**
 * Answers each post with the next of `answers` (the last repeats), or with errcode 0 when none are
 * given, or as `answers` says for its markdown (undefined: errcode 0); a markdown message over
 * 4096 bytes is refused as WeCom refuses it, whatever the answers.
 */
export async function wecomStandIn(answers: WecomAnswer[] | ((content: string) => WecomAnswer | undefined) = []): Promise<WecomStandIn> {
  const fake = await new FakeWecom().start();
  if (typeof answers === 'function') fake.answer = (content) => answers(content);
  else if (answers.length > 0) fake.answer = (_content, n) => answers[Math.min(n, answers.length - 1)];
  return {
    url: fake.url,
    get bodies() {
      return fake.posts.map((p) => p.body);
    },
    get accepted() {
      return fake.accepted;
    },
    close: () => void fake.stop(),
  };
}
