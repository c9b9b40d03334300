/**
 * The README's figures come from commands; these keep them from drifting where a test can: the
 * bundle sizes against the bundles `npm test` just built, the cold-load ratios against the
 * baseline the CI guard uses (both written from the same `npm run bench` run). And its error
 * tables against the codes the functions define.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OWN_ERROR_CODES } from '../shared/core/errors';

const ROOT = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const baseline = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'bench', 'baseline.json'), 'utf8')) as { coldRatio: Record<string, number> };

/** The value column of the Performance table's row for `figure`. */
function row(figure: string): string {
  const line = readme.split('\n').find((l) => l.startsWith(`| ${figure} |`));
  if (!line) throw new Error(`README has no Performance row "${figure}"`);
  return line.split('|')[2].trim();
}

describe.each(['ivr_upload.js', 'quota_report.js'])('README Performance: %s', (bundle) => {
  test('its size is the built bundle, within 5%', () => {
    const kb = Number(/^([\d.]+) KB/.exec(row(`\`${bundle}\` size`))?.[1]);
    const built = fs.statSync(path.join(ROOT, 'dist', 'package', bundle)).size / 1024;
    expect(Math.abs(kb - built) / built).toBeLessThan(0.05);
  });

  test('its cold-load ratio is the committed baseline', () => {
    const ratio = Number(/= ([\d.]+)× empty/.exec(row(`\`${bundle}\` cold load`))?.[1]);
    expect(ratio).toBeCloseTo(baseline.coldRatio[bundle], 2);
  });
});

test("README's error tables document every code of ours an operator can meet", () => {
  // NetworkError never reaches an operator: a lost answer is shown as OutcomeUnknown.
  const internal = new Set<string>(['NetworkError']);
  const documented = (code: string) => readme.includes(`\n| \`${code}\` |`);
  expect(OWN_ERROR_CODES.filter((c) => !internal.has(c) && !documented(c))).toEqual([]);
  expect([...internal].filter(documented)).toEqual([]);
});
