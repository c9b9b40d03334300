/**
 * SCF timer cron expressions: seven fields, `sec min hour day month weekday year`. Supports `*`,
 * numbers, lists, ranges and steps, which is what timer triggers accept in practice.
 */
const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'weekday', min: 0, max: 6 },
  { name: 'year', min: 1970, max: 2199 },
] as const;

export type Cron = Array<Set<number> | '*'>;

function parseField(text: string, f: (typeof FIELDS)[number]): Set<number> | '*' {
  if (text === '*' || text === '?') return '*';
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron ${f.name} field "${text}" is not understood`);
    const from = m[1] === '*' ? f.min : Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : m[1] === '*' || m[3] ? f.max : from;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (from < f.min || to > f.max || from > to || step < 1) throw new Error(`cron ${f.name} field "${text}" is out of range ${f.min}-${f.max}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expr: string): Cron {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 7) throw new Error(`cron "${expr}" must have seven fields (sec min hour day month weekday year), it has ${parts.length}`);
  return parts.map((p, i) => parseField(p, FIELDS[i]));
}

/** Whether the cron fires at this instant, read in the given offset from UTC. */
export function cronMatches(cron: Cron, ms: number, utcOffsetMinutes: number): boolean {
  const d = new Date(ms + utcOffsetMinutes * 60000);
  const values = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay(), d.getUTCFullYear()];
  return cron.every((f, i) => f === '*' || f.has(values[i]));
}

/**
 * The first second at or after `ms` at which the cron fires, looking at most `withinMs` ahead
 * (a day by default); undefined when it does not fire within that.
 */
export function nextCronAt(cron: Cron, ms: number, utcOffsetMinutes: number, withinMs = 86_400_000): number | undefined {
  const first = Math.ceil(ms / 1000) * 1000;
  for (let t = first; t <= first + withinMs; t += 1000) if (cronMatches(cron, t, utcOffsetMinutes)) return t;
  return undefined;
}

/**
 * The date fields (day, month, weekday, year) that leave out some day from `fromYear` on, with their
 * position in the expression; empty when the cron fires on every day. The time fields always allow at least one second, so a
 * day is covered exactly when all four date fields allow it. Day and weekday must each allow every
 * value: whether SCF joins them with "and" (as {@link cronMatches} does) or "or" (classic cron) is
 * not documented, and only both full leaves every day in under either reading.
 */
export function dateFieldsLeavingDaysOut(cron: Cron, fromYear: number): Array<{ name: string; index: number }> {
  const out: Array<{ name: string; index: number }> = [];
  for (const i of [3, 4, 5, 6]) {
    const f = cron[i];
    if (f === '*') continue;
    const min = i === 6 ? Math.max(fromYear, FIELDS[i].min) : FIELDS[i].min;
    for (let v = min; v <= FIELDS[i].max; v++) {
      if (!f.has(v)) {
        out.push({ name: FIELDS[i].name, index: i });
        break;
      }
    }
  }
  return out;
}

/**
 * Whether the cron's day, month and weekday fields allow at least one day in 28 years (the
 * Gregorian calendar's cycle of weekdays and leap days, 2028-2055), the year field aside.
 */
export function firesOnSomeDay(cron: Cron): boolean {
  const start = Date.UTC(2028, 0, 1);
  const end = Date.UTC(2056, 0, 1);
  for (let t = start; t < end; t += 86400000) {
    const d = new Date(t);
    const values = [d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay()];
    if ([cron[3], cron[4], cron[5]].every((f, i) => f === '*' || f.has(values[i]))) return true;
  }
  return false;
}
