/**
 * Reads `.env` with the very parser `npx sls deploy` uses, so both deploy paths (and the checks)
 * see the same values: serverless@2.72.4 hands `component:` projects to `@serverless/components`,
 * whose CLI handler (`@serverless/components/src/cli/index.js`, the exported async function) calls
 * `dotenv.config({ path: '.env' })` with its own copy of dotenv (8.6.0) before it decides, in
 * `isChinaUser()` (`src/cli/utils.js`), whether to run Tencent's commands (`commands-cn`).
 * dotenv 8 has no inline comments: `KEY=value # note` keeps `# note` in the value.
 */
import * as fs from 'fs';
import { createRequire } from 'module';

interface Dotenv {
  parse(src: string): Record<string, string>;
}

/** The dotenv module `@serverless/components` itself resolves (not whichever one is hoisted). */
export function serverlessDotenv(): Dotenv {
  const fromComponents = createRequire(require.resolve('@serverless/components/package.json'));
  return fromComponents('dotenv') as Dotenv;
}

/** Where that dotenv lives, for tests and messages. */
export function serverlessDotenvPath(): string {
  return createRequire(require.resolve('@serverless/components/package.json')).resolve('dotenv');
}

/** Parses `.env` text exactly as `sls deploy` does. */
export function parseDotenv(text: string): Record<string, string> {
  return serverlessDotenv().parse(text);
}

/** Reads and parses a `.env` file exactly as `sls deploy` does. */
export function readDotenv(file: string): Record<string, string> {
  return parseDotenv(fs.readFileSync(file, 'utf8'));
}

/**
 * What the deploy sees for each of `names`: like `dotenv.config()` (which never overrides a
 * variable that is already set), the process environment wins over the file, so a shell `export`
 * overrides `.env` in both deploy paths alike.
 */
export function effectiveEnv(fileValues: Record<string, string>, processEnv: Record<string, string | undefined>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = processEnv[name] ?? fileValues[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
