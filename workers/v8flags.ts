/**
 * V8 tuning for explorations, applied once per process by the CLI and the bench (worker threads
 * share their process's flags).
 *
 * `--no-allocation-site-pretenuring`: V8 pretenures an allocation site whose objects often
 * survive a scavenge. A run's objects live for the whole run (~2 ms), so the sites that build
 * actors, contexts and scripts get pretenured; every later run's objects then sit in the old
 * generation, and the young objects they point at are kept by every scavenge until the next
 * full GC. Off, the default exploration is ~25% faster and its GC threads take a third less
 * CPU, which is what lets a second worker scale (`npm run bench`, V8 default flags vs these).
 * It can be changed at run time; the flags that turn off GC threads cannot (V8 aborts), so
 * those are left to the command line (COMMAND_LINE_V8_FLAGS).
 */
import { setFlagsFromString } from 'node:v8';

/** Set at run time by tuneV8ForExploration. */
export const EXPLORATION_V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

/**
 * Given on the command line by bin/pagerace.js's shebang and the npm scripts (V8 aborts when
 * they change at run time). `--single-threaded-gc`: with one worker per core, V8's parallel
 * scavenge and concurrent marking threads only take time from the other worker.
 */
export const COMMAND_LINE_V8_FLAGS = ['--single-threaded-gc'] as const;

let applied = false;

export function tuneV8ForExploration(): void {
  if (applied) return;
  applied = true;
  for (const f of EXPLORATION_V8_FLAGS) setFlagsFromString(f);
}
