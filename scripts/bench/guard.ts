/**
 * `npm run bench:guard` (part of `npm test`, so CI runs it): a few seconds' check that fails when
 * a bundle grows past its 400 KB budget, or its cold-load ratio to an empty Node process is more
 * than 20% above the committed figure (scripts/bench/baseline.json, written by
 * `npm run bench -- --update-baseline`).
 *
 * Robust on a noisy 2-core machine: the children get a clean environment, bundle and empty runs
 * are interleaved, the ratio is of medians, and a first measurement over the limit is measured
 * again with more runs: only a ratio over the limit both times fails.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BASELINE_FILE, type Baseline } from './baseline';
import { BUNDLES, measureCold, PKG } from './cold';

const BUDGET_BYTES = 400 * 1024;
const TOLERANCE = 1.2;

function main(): number {
  const t0 = Date.now();
  const problems: string[] = [];
  for (const b of BUNDLES) {
    const bytes = fs.statSync(path.join(PKG, b.file)).size;
    const line = `${b.file}: ${(bytes / 1024).toFixed(1)} KB (budget 400 KB)`;
    console.log(line);
    if (bytes > BUDGET_BYTES) problems.push(`${line}: over budget`);
  }
  if (!fs.existsSync(BASELINE_FILE)) {
    problems.push(`${path.basename(BASELINE_FILE)} is missing: run npm run bench -- --update-baseline and commit it`);
  } else {
    const baseline = JSON.parse(fs.readFileSync(BASELINE_FILE, 'utf8')) as Baseline;
    const over = (r: ReturnType<typeof measureCold>) => BUNDLES.filter((b) => r.bundles[b.file].ratio > (baseline.coldRatio[b.file] ?? Infinity) * TOLERANCE);
    // On the Node running the tests, as the baseline was measured (never BENCH_NODE's).
    let result = measureCold(15, BUNDLES, PKG, process.execPath);
    if (over(result).length > 0) {
      console.log('cold ratio over the limit on the first measurement; measuring again with more runs');
      result = measureCold(31, BUNDLES, PKG, process.execPath);
    }
    for (const b of BUNDLES) {
      const r = result.bundles[b.file];
      const limit = (baseline.coldRatio[b.file] ?? Infinity) * TOLERANCE;
      const line = `${b.file}: cold load ${r.ms.toFixed(1)} ms = ${r.ratio.toFixed(2)}× empty (${result.emptyMs.toFixed(1)} ms); committed ${baseline.coldRatio[b.file]}× → limit ${limit.toFixed(2)}×`;
      console.log(line);
      if (r.ratio > limit) problems.push(`${line}: regressed more than 20%`);
    }
    console.log(`(baseline measured ${baseline.measuredAt} on ${baseline.machine}; this machine: Node ${process.version})`);
  }
  console.log(`bench guard took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const p of problems) console.error(`bench guard: ${p}`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main();
