/**
 * Runs a range of an exploration in this thread, a chunk at a time, with one strategy object.
 * Between chunks (never inside a run) it yields to the event loop, so a SIGINT handler or an abort
 * can stop it, and heals the execution runtime if one of its threads died. The chunks concatenate
 * to exactly what one exploreRange over the whole range gives.
 */
import { type ExploreOptions, type RangeResult, type RunRange, concatRanges, coverageFor, exploreRange, strategyFor } from '../../core/explore.ts';

/** Runs per chunk: about 50-100 ms of work, so Ctrl-C is answered promptly. */
export const CHUNK_RUNS = 32;

export interface DriveHooks {
  /** Checked between chunks with the next run index; true stops. */
  shouldStop?: (next: number) => boolean;
  chunk?: number;
  /** After each chunk: the chunks so far (in run order) and the next run index (checkpoints). */
  onChunk?: (parts: readonly RangeResult[], next: number) => void;
}

export async function driveRange(o: ExploreOptions, range: RunRange, hooks: DriveHooks = {}): Promise<RangeResult> {
  const parts: RangeResult[] = [];
  const strategy = strategyFor(o);
  // One coverage collector for the whole range: --until-coverage counts quiet runs across chunks.
  const cov = coverageFor(o);
  let next = range.from;
  const chunk = hooks.chunk ?? CHUNK_RUNS;
  while (next < range.to && !hooks.shouldStop?.(next)) {
    const r = exploreRange(o, { from: next, to: Math.min(range.to, next + chunk) }, strategy, cov);
    parts.push(r);
    next = r.next;
    hooks.onChunk?.(parts, next);
    if (r.failing || r.saturated) break;
    if (o.runtime && !o.runtime.healthy()) await o.runtime.heal();
    // Outside every run: lets signal handlers and pool callbacks run.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return concatRanges(parts, next);
}
