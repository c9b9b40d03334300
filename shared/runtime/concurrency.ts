/** Runs `fn` over `items` with at most `limit` in flight, keeping order in the results. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Admits work by the bytes it will hold, at most `limit` at once; work larger than the limit runs
 * alone. The bodies of several large files must not add up past the function's memory.
 * `between` runs when work of a quarter of the limit or more ends while other work waits (to let its
 * memory go first).
 */
export function byteBudget(limit: number, between?: () => void): <R>(bytes: number, fn: () => Promise<R>) => Promise<R> {
  let used = 0;
  const waiting: Array<() => void> = [];
  return async (bytes, fn) => {
    const need = Math.min(Math.max(0, bytes), limit);
    while (used > 0 && used + need > limit) await new Promise<void>((wake) => waiting.push(wake));
    used += need;
    try {
      return await fn();
    } finally {
      used -= need;
      if (between && need >= limit / 4 && waiting.length > 0) between();
      for (const wake of waiting.splice(0)) wake();
    }
  };
}
