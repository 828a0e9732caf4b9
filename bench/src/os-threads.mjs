// How many OS threads this process has (Linux: /proc/self/task), or null elsewhere. Counting them
// before and after a runtime starts its workers shows how many threads really started.

import { readdirSync } from 'node:fs';

export function osThreadCount() {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

/** Threads a runtime runs on, from the OS threads it added (one per worker), capped at what was asked. */
export function threadsStarted(before, after, asked) {
  if (before === null || after === null) return null;
  return Math.min(asked, 1 + Math.max(0, after - before));
}
