// Shifts this process's clock by an offset, so the local stack can behave as if time had moved on
// (`npm run local -- next-day`) while every party still agrees on the time: the stack (the fakes
// check signatures and count quota days with it, the drop folder's COS client signs with it), the
// function instances (scf-runtime.cjs) and the client commands all load this same file.
//
// Plain CommonJS, no dependencies: scf-runtime.cjs loads it under plain node, before the bundle.
// `Date` is replaced once, at install, so that whatever captures `Date.now` later (the fakes'
// default clock, the store's) reads the offset as it changes; the offset itself is mutable.
'use strict';

const RealDate = Date;
let offsetMs = 0;
let installed = false;

/** `Date` with `now()` and the no-argument constructor moved by the offset; everything else is the real `Date`. */
function ShiftedDate(...args) {
  // `Date()` called without `new` returns the current time as a string, as the real one does.
  if (!new.target) return new RealDate(RealDate.now() + offsetMs).toString();
  return Reflect.construct(RealDate, args.length ? args : [RealDate.now() + offsetMs], new.target);
}
// Same prototype: dates made anywhere (node internals keep the real `Date`) pass `instanceof Date`.
ShiftedDate.prototype = RealDate.prototype;
Object.setPrototypeOf(ShiftedDate, RealDate); // Date.parse, Date.UTC
ShiftedDate.now = function now() {
  return RealDate.now() + offsetMs;
};

/** The environment variable a child process reads its starting offset from. */
const ENV = 'IVR_LOCAL_CLOCK_OFFSET_MS';

/** Replaces the global `Date` (once) and sets the offset. */
function install(initialOffsetMs = 0) {
  setOffset(initialOffsetMs);
  if (!installed) {
    globalThis.Date = ShiftedDate;
    installed = true;
  }
}

/** Moves this process's clock to `ms` ahead of real time (from then on; timers are not touched). */
function setOffset(ms) {
  if (!Number.isFinite(ms)) throw new TypeError(`clock offset must be a finite number of milliseconds, got ${ms}`);
  offsetMs = ms;
}

/** The current offset, ms ahead of real time. */
function offset() {
  return offsetMs;
}

/** Real time, whatever the offset (for what must not jump, e.g. how long a file has been unchanged). */
function realNow() {
  return RealDate.now();
}

/** The offset named by `ENV` in `env`, 0 when unset or not a number. */
function offsetFromEnv(env) {
  const n = Number(env[ENV] || 0);
  return Number.isFinite(n) ? n : 0;
}

module.exports = { ENV, install, setOffset, offset, realNow, offsetFromEnv };
