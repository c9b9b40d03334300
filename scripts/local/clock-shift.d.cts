/** Types of `clock-shift.cjs` (plain CommonJS so that scf-runtime.cjs can load it under plain node). */

/** The environment variable a child process reads its starting offset from. */
export declare const ENV: 'IVR_LOCAL_CLOCK_OFFSET_MS';
/** Replaces the global `Date` (once) and sets the offset. */
export declare function install(initialOffsetMs?: number): void;
/** Moves this process's clock to `ms` ahead of real time. */
export declare function setOffset(ms: number): void;
/** The current offset, ms ahead of real time. */
export declare function offset(): number;
/** Real time, whatever the offset. */
export declare function realNow(): number;
/** The offset named by `ENV` in `env`, 0 when unset or not a number. */
export declare function offsetFromEnv(env: NodeJS.ProcessEnv): number;
