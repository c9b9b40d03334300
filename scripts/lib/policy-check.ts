/**
 * Compares the CAM actions a run really used (recorded by the fakes) with what a policy grants.
 * Least privilege both ways: an action used but not granted would be denied in the cloud; an
 * action granted but never used is privilege nobody needs.
 */
import type { CamPolicy } from './deploy-config';

/** The outcome of one comparison. */
export interface ActionDiff {
  /** Used by the code, not granted: denied in the cloud. */
  missing: string[];
  /** Granted, never used during the run (only meaningful when the whole suite ran). */
  unused: string[];
}

/** Actions a policy grants, without CAM's `name/` prefix (e.g. `cos:PutObjectCopy`). */
export function grantedActions(policy: CamPolicy, service?: string): string[] {
  const all = policy.statement.filter((s) => s.effect === 'allow').flatMap((s) => s.action.map((a) => a.replace(/^name\//, '')));
  return [...new Set(all)].filter((a) => !service || a.startsWith(`${service}:`)).sort();
}

/** Distinct action names recorded in a log file's text (one per line). */
export function recordedActions(text: string): string[] {
  return [...new Set(text.split('\n').map((l) => l.trim()).filter(Boolean))].sort();
}

/** Compares used with granted. */
export function diffActions(used: readonly string[], granted: readonly string[]): ActionDiff {
  const g = new Set(granted);
  const u = new Set(used);
  return { missing: [...u].filter((a) => !g.has(a)).sort(), unused: [...g].filter((a) => !u.has(a)).sort() };
}
