/**
 * The trace: one JSON line per step. Its hash (over the compact lines, without contexts) is
 * the run's identity: same inputs, same hash, in any process.
 */
import { createHash, type Hash } from 'node:crypto';
import type { StepRecord } from '../machines/specs/types.ts';

/** The line hashed and written for a step. Envelopes keep id, from, to, type and payload. */
export function traceLine(rec: StepRecord, context?: unknown): string {
  const line: Record<string, unknown> = {
    i: rec.i,
    t: rec.t,
    step: rec.step,
    actor: rec.actor,
    event: rec.event,
    before: rec.before,
    after: rec.after,
  };
  if (rec.delivered) line.delivered = rec.delivered.id;
  if (rec.sent.length) line.sent = rec.sent;
  if (rec.obs.length) line.obs = rec.obs;
  if (rec.locks.length) line.locks = rec.locks;
  if (context !== undefined) line.context = context;
  return JSON.stringify(line);
}

export class TraceHasher {
  private readonly h: Hash = createHash('sha256');

  add(line: string): void {
    this.h.update(line);
    this.h.update('\n');
  }

  digest(): string {
    return this.h.digest('hex');
  }
}
