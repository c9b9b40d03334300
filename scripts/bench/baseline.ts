/** The committed cold-load figures the CI guard compares against (`npm run bench -- --update-baseline` writes them). */
import * as path from 'path';

export const BASELINE_FILE = path.join(__dirname, 'baseline.json');

/** What `baseline.json` holds. */
export interface Baseline {
  /** Where the figures were measured (Node version, CPU, cores). */
  machine: string;
  /** YYYY-MM-DD */
  measuredAt: string;
  /** Interleaved runs behind each median. */
  runs: number;
  /** Per bundle file: median cold load / median empty Node process. */
  coldRatio: Record<string, number>;
  /** Per bundle file: size in bytes when measured. */
  bytes: Record<string, number>;
}
