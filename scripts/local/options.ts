/**
 * Command-line options of `npm start`, `npm run status` and `npm run report`, as pure functions.
 * Every value the functions also read is checked by the functions' own config rules (the stack
 * builds the environment a deployed function would get and runs `loadConfig` on it), so
 * `--quota 0` fails exactly as `IVR_DAILY_QUOTA=0` does. Every problem is one line naming the
 * option and what it accepts.
 */
import { closest, distance } from 'fastest-levenshtein';
import * as path from 'path';
import { parseArgs } from 'util';
import { DEFAULT_DAILY_QUOTA, DEFAULT_QUOTA_UTC_OFFSET, intVar, loadConfig, type Config, type Env } from '../../shared/core/config';
import { formatOffset } from '../../shared/core/zone';
import { IvrError } from '../../shared/core/errors';
import { parseCron } from '../lib/cron';
import { DEFAULT_RECOVERY_CRON } from '../lib/deploy-spec';
import { CCC_FAULTS, isCccFault, type CccFaultName } from './ccc-faults';
import { functionEnv, ROOT, type LocalSettings } from './settings';

/** A bad command line. Exit code 2, like other command-line tools. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One option as the user types it. */
export interface OptionSpec {
  /** Long name without dashes. */
  name: string;
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in help, e.g. `N`, `DIR`. */
  value?: string;
  /** An example value, used in "needs a value" messages. */
  example?: string;
  help: string;
}

const HELP: OptionSpec = { name: 'help', short: 'h', type: 'boolean', help: 'show this help and exit' };
const JSON_OPT: OptionSpec = { name: 'json', type: 'boolean', help: 'machine-readable output, one JSON object per line' };
const DATA: OptionSpec = { name: 'data', type: 'string', value: 'DIR', example: '.local', help: "the local stack's state: bucket, CCC files, logs, report page (default .local)" };

/** Options of `npm start`. */
export const START_OPTIONS: readonly OptionSpec[] = [
  { name: 'drop', type: 'string', value: 'DIR', example: 'drop', help: 'the drop folder operators copy prompts into (default drop)' },
  DATA,
  { name: 'prefix', type: 'string', value: 'PREFIX', example: 'prompts/', help: 'key prefix the files are uploaded under, as IVR_AUDIO_PREFIX (default prompts/)' },
  { name: 'quota', type: 'string', value: 'N', example: '50', help: 'files per quota day, as IVR_DAILY_QUOTA (default 50)' },
  { name: 'quota-offset', type: 'string', value: '±HH:MM', example: '+08:00', help: "the quota day's time zone, as IVR_QUOTA_UTC_OFFSET (default +08:00); all times are shown in it" },
  { name: 'settle-ms', type: 'string', value: 'MS', example: '1000', help: 'a dropped file is taken once its size and time are unchanged this long (default 1000)' },
  { name: 'cos-port', type: 'string', value: 'PORT', example: '4600', help: 'port of the local COS, 0 = any free port (default 4600)' },
  { name: 'ccc-port', type: 'string', value: 'PORT', example: '4601', help: 'port of the local CCC, 0 = any free port (default 4601)' },
  {
    name: 'report-cron',
    type: 'string',
    value: 'CRON',
    example: `"${DEFAULT_RECOVERY_CRON}"`,
    help: `when the recovery pass runs (it also writes the daily report once per quota day), SCF timer syntax in the quota day's zone (default "${DEFAULT_RECOVERY_CRON}", every 5 minutes, as deployed)`,
  },
  { name: 'auto-review-ms', type: 'string', value: 'MS', example: '20000', help: 'the local CCC approves each file this long after upload (default 20000)' },
  { name: 'retry-delay-ms', type: 'string', value: 'MS', example: '60000', help: 'delay before a failed invocation is delivered again, as SCF does (default 60000: SCF retries after about a minute)' },
  JSON_OPT,
  HELP,
];

/** Options of `npm run status`. */
export const STATUS_OPTIONS: readonly OptionSpec[] = [DATA, JSON_OPT, HELP];
/** Options of `npm run report` (plus an optional day, `YYYY-MM-DD`). */
export const REPORT_OPTIONS: readonly OptionSpec[] = [DATA, JSON_OPT, HELP];
/** Options of `npm run local -- next-day`. */
export const NEXT_DAY_OPTIONS: readonly OptionSpec[] = [DATA, JSON_OPT, HELP];
/** Options of `npm run local -- ccc` (plus the fault's name). */
export const CCC_OPTIONS: readonly OptionSpec[] = [DATA, JSON_OPT, HELP];

type Values = Record<string, string | boolean | undefined>;

/**
 * The known option closest to `typed` (without dashes), when it is close enough to be a typo:
 * at most 2 edits, or a third of the name for long names.
 */
export function suggestOption(typed: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(typed, [...known]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(typed, best) <= limit ? best : undefined;
}

/** `npm start -- --quota 5`: the same command with dashes, for messages. */
const dashed = (spec: OptionSpec) => `--${spec.name}`;

/**
 * Parses `argv` against `specs` with Node's strict `util.parseArgs`, turning each of its errors
 * into one line that names the option. Unknown options get the closest valid name. `command` is
 * how the user typed the command (for examples in messages); `positionalExample`, a value of its
 * argument when it takes one (`lost` for `npm run local -- ccc`).
 */
export function parseCommandLine(argv: string[], specs: readonly OptionSpec[], maxPositionals = 0, command = 'npm start', positionalExample?: string): { values: Values; positionals: string[] } {
  const options = Object.fromEntries(specs.map((s) => [s.name, s.short ? { type: s.type, short: s.short } : { type: s.type }]));
  const known = specs.map((s) => s.name);
  // First a lenient pass, only to name unknown options better than parseArgs does.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || known.includes(t.name) || specs.some((s) => s.short === t.name)) continue;
    const hint = suggestOption(t.name, known);
    throw new UsageError(`unknown option ${t.rawName}${hint ? `: did you mean --${hint}?` : `; valid options: ${known.map((k) => `--${k}`).join(', ')}`}`);
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as { values: Values; positionals: string[] };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const name = /Option '(?:-\w, )?--([\w-]+)/.exec(message)?.[1];
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(message.split('\n')[0]);
    if (/argument missing|ambiguous/.test(message)) {
      throw new UsageError(`${dashed(spec)} needs a value, e.g. ${dashed(spec)} ${spec.example ?? spec.value ?? 'VALUE'}${/ambiguous/.test(message) ? ` (for a value starting with "-", write ${dashed(spec)}=VALUE)` : ''}`);
    }
    if (/does not take an argument/.test(message)) throw new UsageError(`${dashed(spec)} takes no value`);
    throw new UsageError(message.split('\n')[0]);
  }
  for (const spec of specs) {
    const value = parsed.values[spec.name];
    // An empty value would quietly become the default (the functions read "" as unset); only a
    // prefix can meaningfully be empty (the whole bucket).
    if (typeof value === 'string' && value.trim() === '' && spec.name !== 'prefix') {
      throw new UsageError(`${dashed(spec)} needs a value, e.g. ${dashed(spec)} ${spec.example ?? spec.value ?? 'VALUE'}`);
    }
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals[maxPositionals];
    // `npm start --quota 5` (without `--`) hands the option to npm and only "5" to us.
    const option = specs.find((s) => s.name !== 'help' && s.name !== 'json') ?? specs[0];
    const example = `${dashed(option)}${option.type === 'string' ? ` ${option.example ?? option.value ?? 'VALUE'}` : ''}`;
    // A command already run after npm's `--` (`npm run local -- ccc`) needs no second one.
    if (command.includes(' -- ')) throw new UsageError(`unexpected argument "${extra}": ${command} takes ${maxPositionals === 0 ? 'only options' : `${maxPositionals} argument${maxPositionals === 1 ? '' : 's'}, then options`}, e.g. ${command} ${positionalExample ? `${positionalExample} ` : ''}${example}`);
    throw new UsageError(`unexpected argument "${extra}": options go after --, e.g. ${command} -- ${command === 'npm start' ? '--quota 5' : example}`);
  }
  return parsed;
}

/**
 * The help text for `command`. `optionsForm` is how options follow it: after `--` for an npm
 * script, directly after a subcommand that already follows `--`.
 */
export function usage(command: string, specs: readonly OptionSpec[], extra = '', optionsForm = '[-- options]'): string {
  const rows = specs.map((s) => [`${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.value ? ` ${s.value}` : ''}`, s.help]);
  const width = Math.max(...rows.map((r) => r[0].length));
  return [`usage: ${command} ${optionsForm}${extra}`, '', ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`), ''].join('\n');
}

const str = (v: Values, name: string): string | undefined => (typeof v[name] === 'string' ? (v[name] as string) : undefined);

/**
 * Runs a shared validator under the option's name, so its message reads "--settle-ms must be
 * between 100 and 600000, got 5".
 */
function asOption<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof IvrError) throw new UsageError(e.message);
    throw e;
  }
}

function intOption(v: Values, name: string, def: number, min: number, max: number): number {
  const raw = str(v, name);
  return asOption(() => intVar({ [`--${name}`]: raw } as Env, `--${name}`, def, min, max));
}

/** Options the functions read too: the stack's option → the functions' variable. */
export const FUNCTION_VARIABLES: Readonly<Record<string, string>> = {
  prefix: 'IVR_AUDIO_PREFIX',
  quota: 'IVR_DAILY_QUOTA',
  'quota-offset': 'IVR_QUOTA_UTC_OFFSET',
};

/**
 * The functions' own verdict on the environment the stack would give them, reworded to name the
 * option: "IVR_DAILY_QUOTA must be between 1 and 100000, got 0" → "--quota must be between 1 and
 * 100000, got 0 (the rule for IVR_DAILY_QUOTA)".
 */
export function checkWithFunctionConfig(env: Env): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    let message = e.message;
    const named: string[] = [];
    for (const [option, variable] of Object.entries(FUNCTION_VARIABLES)) {
      if (!message.includes(variable)) continue;
      message = message.split(variable).join(`--${option}`);
      named.push(variable);
    }
    throw new UsageError(named.length > 0 ? `${message} (the rule for ${named.join(', ')})` : message);
  }
}

/** Resolves a folder given on the command line against where the user typed the command. */
function folder(v: Values, name: string, def: string, cwd: string): string {
  const raw = str(v, name);
  if (raw === undefined) return def;
  if (raw.trim() === '') throw new UsageError(`--${name} must name a folder, got an empty value`);
  return path.resolve(cwd, raw);
}

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * `npm start`'s settings from its arguments. `cwd` is where the user typed the command (npm runs
 * scripts in the package folder and passes the original one as INIT_CWD).
 * @throws UsageError with one line naming the option
 */
export function parseStartOptions(argv: string[], cwd: string, env: Env = {}): LocalSettings | 'help' {
  const { values: v } = parseCommandLine(argv, START_OPTIONS);
  if (v.help) return 'help';
  // The deployed timer's default: the local stack behaves as the cloud does unless told otherwise.
  const reportCron = str(v, 'report-cron') ?? DEFAULT_RECOVERY_CRON;
  try {
    parseCron(reportCron);
  } catch (e) {
    throw new UsageError(`--report-cron: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ports = { cosPort: intOption(v, 'cos-port', 4600, 0, 65535), cccPort: intOption(v, 'ccc-port', 4601, 0, 65535) };
  if (ports.cosPort !== 0 && ports.cosPort === ports.cccPort) throw new UsageError(`--cos-port and --ccc-port must differ, both are ${ports.cosPort}`);
  // The functions' config decides on the values they share with the stack, by their own rules.
  const raw = { ...ports, prefix: str(v, 'prefix') ?? 'prompts/', quota: str(v, 'quota') ?? String(DEFAULT_DAILY_QUOTA), quotaOffset: str(v, 'quota-offset') ?? DEFAULT_QUOTA_UTC_OFFSET };
  const config = checkWithFunctionConfig(functionEnv(raw, 'ivr-upload', env));
  const settings: LocalSettings = {
    ...ports,
    dropDir: folder(v, 'drop', path.join(ROOT, 'drop'), cwd),
    dataDir: folder(v, 'data', path.join(ROOT, '.local'), cwd),
    prefix: config.audioPrefix,
    quota: config.dailyQuota,
    quotaOffset: formatOffset(config.quotaUtcOffsetMinutes),
    quotaOffsetMinutes: config.quotaUtcOffsetMinutes,
    settleMs: intOption(v, 'settle-ms', 1000, 100, 600000),
    reportCron,
    autoReviewMs: intOption(v, 'auto-review-ms', 20000, 0, 86400000),
    // SCF's own interval (about a minute). At 30 s, the call's whole lifetime here, a redelivery
    // came a hair before the call could be asked about, and the file waited for the timer (trial).
    retryDelayMs: intOption(v, 'retry-delay-ms', 60000, 0, 3600000),
    json: v.json === true,
  };
  if (inside(settings.dataDir, settings.dropDir)) throw new UsageError(`--data must not be inside --drop (${settings.dropDir}): its files would be taken as prompts`);
  if (inside(settings.dropDir, settings.dataDir)) throw new UsageError(`--drop must not be inside --data (${settings.dataDir})`);
  return settings;
}

/** Settings of the commands that talk to a running stack. */
export interface ClientOptions {
  dataDir: string;
  json: boolean;
  /** `npm run report 2024-05-01`. */
  day?: string;
  /** `npm run local -- ccc lost`: the fault's name. */
  fault?: CccFaultName;
}

const CLIENT_OPTIONS = { status: STATUS_OPTIONS, report: REPORT_OPTIONS, 'next-day': NEXT_DAY_OPTIONS, ccc: CCC_OPTIONS } as const;

/** `npm run status` / `npm run report` / `npm run local -- next-day` / `npm run local -- ccc` arguments. */
export function parseClientOptions(argv: string[], cwd: string, command: keyof typeof CLIENT_OPTIONS): ClientOptions | 'help' {
  const name = command === 'ccc' ? 'npm run local -- ccc' : `npm run ${command}`;
  const { values: v, positionals } = parseCommandLine(argv, CLIENT_OPTIONS[command], command === 'report' || command === 'ccc' ? 1 : 0, name, command === 'ccc' ? 'lost' : undefined);
  if (v.help) return 'help';
  const dataDir = folder(v, 'data', path.join(ROOT, '.local'), cwd);
  if (command === 'ccc') {
    const what = positionals[0];
    const names = Object.keys(CCC_FAULTS);
    if (what === undefined) throw new UsageError(`what should the local CCC do? one of ${names.join(', ')} (${name} --help says what each does)`);
    if (!isCccFault(what)) {
      const hint = suggestOption(what, names);
      throw new UsageError(`unknown CCC fault "${what}"${hint ? `: did you mean ${hint}?` : ''}; one of ${names.join(', ')}`);
    }
    return { dataDir, json: v.json === true, fault: what };
  }
  const day = positionals[0];
  if (day !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new UsageError(`the day to report must look like 2024-05-01, got "${day}"`);
  // Date.parse takes 2026-02-30 as 2 March: a real day reads back as itself.
  if (day !== undefined && (Number.isNaN(Date.parse(`${day}T00:00:00Z`)) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day)) throw new UsageError(`${day} is not a day of the calendar`);
  return { dataDir, json: v.json === true, day };
}
