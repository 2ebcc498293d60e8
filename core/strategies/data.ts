/** How sampling strategies draw a data choice from a run's data stream (seed stream 2). */
import type { Prng } from '../prng.ts';
import type { DataDraw } from './strategy.ts';

export function drawData(prng: Prng, d: DataDraw): number {
  if (d.p !== undefined) return prng.next() < d.p ? 1 : 0;
  return prng.int(d.n);
}
