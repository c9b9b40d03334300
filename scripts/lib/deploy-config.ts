/**
 * Reads serverless.yml the way `sls deploy` will see it: `${env:NAME}` replaced from a .env file.
 * Used by the offline deploy checks and by `npm run policy`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');

export function readDotenv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

export function envReferences(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{env:([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))];
}

export function substitute(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{env:([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    if (!(name in env)) throw new Error(`serverless.yml uses \${env:${name}} but it is not set`);
    return env[name];
  });
}

export function loadServerlessYml(env: Record<string, string>, file = path.join(ROOT, 'serverless.yml')): Record<string, unknown> {
  return parse(substitute(fs.readFileSync(file, 'utf8'), env)) as Record<string, unknown>;
}

/** The CAM policy with the deployment's values filled in. */
export function renderPolicy(env: Record<string, string>): unknown {
  const appid = /-(\d+)$/.exec(env.BUCKET ?? '')?.[1];
  if (!appid) throw new Error('BUCKET must be <name>-<appid>');
  const text = fs.readFileSync(path.join(ROOT, 'deploy', 'cam-policy.json'), 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => (name === 'APPID' ? appid : env[name] ?? `\${${name}}`));
  return JSON.parse(text);
}
