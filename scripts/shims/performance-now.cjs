// cos-request's `performance-now` reads the global `performance` at load, which makes Node load
// its perf_hooks module; it is only used for request timings when `time: true` is passed (the COS
// SDK never does). Same contract: milliseconds from a fixed origin, monotonic.
module.exports = () => Number(process.hrtime.bigint()) / 1e6;
