/**
 * The README's figures come from commands; these keep them from drifting where a test can: the
 * bundle sizes against the bundles `npm test` just built, the cold-load ratios against the
 * baseline the CI guard uses (both written from the same `npm run bench` run). And its error
 * tables against the codes the functions define.
 */
import * as fs from 'fs';
import * as path from 'path';
import { OWN_ERROR_CODES } from '../shared/core/errors';
import { CCC_FAULTS } from '../scripts/local/ccc-faults';
import type { DropEvent } from '../scripts/local/drop-folder';
import { describeEvent, fileLine } from '../scripts/local/output';

const ROOT = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const baseline = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'bench', 'baseline.json'), 'utf8')) as { coldRatio: Record<string, number> };

/** A value column of the Performance table's row for `figure`: 1, this release's runs; 2, the faster machine's (the CI guard's baseline). */
function row(figure: string, column: 1 | 2 = 1): string {
  const line = readme.split('\n').find((l) => l.startsWith(`| ${figure} |`));
  if (!line) throw new Error(`README has no Performance row "${figure}"`);
  return line.split('|')[1 + column].trim();
}

describe.each(['ivr_upload.js', 'quota_report.js'])('README Performance: %s', (bundle) => {
  test('its size is the built bundle, within 5%', () => {
    const kb = Number(/^([\d.]+) KB/.exec(row(`\`${bundle}\` size`))?.[1]);
    const built = fs.statSync(path.join(ROOT, 'dist', 'package', bundle)).size / 1024;
    expect(Math.abs(kb - built) / built).toBeLessThan(0.05);
  });

  test('its cold-load ratio is the committed baseline', () => {
    const ratio = Number(/= ([\d.]+)× empty/.exec(row(`\`${bundle}\` cold load`, 2))?.[1]);
    expect(ratio).toBeCloseTo(baseline.coldRatio[bundle], 2);
  });
});

test("README's error tables document every code of ours an operator can meet", () => {
  // Every one, NetworkError too: it is in log lines an operator reads (a lost answer's line, the review refresh's).
  const documented = (code: string) => readme.includes(`\n| \`${code}\` |`);
  expect(OWN_ERROR_CODES.filter((c) => !documented(c))).toEqual([]);
});

describe("README Quick start: the stack's sample lines are lines the stack prints", () => {
  // The sample lines are indented code in the Quick start: a clock, then a file line or a note.
  const samples = readme.split('\n').filter((l) => /^ {3}\d{2}:\d{2}:\d{2}\+08:00 {2}/.test(l)).map((l) => l.slice(3));
  const FILE_LINE = /^(\d{2}:\d{2}:\d{2}\+08:00) {2}(.+?) +(sent|queued|retrying|deferred|uploaded|failed) {2,}(.+)$/;
  const files = samples.map((l) => FILE_LINE.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  const day = '2026-11-27';

  test('there are some of each kind', () => {
    expect(new Set(files.map((m) => m[3]))).toEqual(new Set(['sent', 'queued', 'retrying', 'deferred', 'uploaded', 'failed']));
  });

  test.each(files.map((m) => [m[0], m] as const))('%s', (line, m) => {
    const [, clock, file, state, detail] = m;
    // Laid out as fileLine lays it out (name column by display width, state column).
    const ms = Date.parse(`${day}T${clock}`);
    expect(fileLine(ms, 480, file, state, detail)).toBe(line);
    // And worded as the stack words that state.
    const status = (extra: Partial<Extract<DropEvent, { kind: 'status' }>>) => describeEvent({ kind: 'status', file, key: `prompts/${file}`, status: state, ...extra }).detail;
    const patterns: Record<string, RegExp | string> = {
      sent: new RegExp(`^[\\d.]+ (B|KB|MB) → prompts/${file.replace(/\./g, '\\.')}$`),
      queued: status({}),
      // (A file deferred on the day of the line may still go that day: the stack says so.)
      deferred: status({ day: /on (\d{4}-\d{2}-\d{2}) at the earliest/.exec(detail)?.[1], ...(detail.includes(', or still today') ? { today: true as const } : {}) }),
      retrying: /^(InternalError|OutcomeUnknown): .+; retried automatically$/,
      uploaded: new RegExp(`^FileId \\d+ → done/${file.replace(/\./g, '\\.')}$`),
      failed: new RegExp(`^(${OWN_ERROR_CODES.join('|')}): .+ → failed/${file.replace(/\./g, '\\.')} \\(how to fix: failed/${file.replace(/\./g, '\\.')}\\.error\\.txt\\)$`),
    };
    const want = patterns[state];
    if (typeof want === 'string') expect(detail).toBe(want);
    else expect(detail).toMatch(want);
  });

  test("the local CCC's line is the one the stack prints for that fault", () => {
    const lines = samples.filter((l) => l.includes('  local CCC ('));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      const name = /local CCC \(npm run local -- ccc (\w+)\)/.exec(l)?.[1] ?? '';
      expect(Object.keys(CCC_FAULTS)).toContain(name);
      expect(l.slice(16)).toBe(`local CCC (npm run local -- ccc ${name}): ${CCC_FAULTS[name as keyof typeof CCC_FAULTS].does}`);
    }
  });
});
