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
