/** The trace line and the run hash: the hand-written line is JSON.stringify's bytes; batching the hash changes nothing. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TraceHasher, traceLine } from '../../core/trace.ts';
import type { StepRecord } from '../../core/model/monitor.ts';

function record(i: number, over: Partial<StepRecord> = {}): StepRecord {
  return { i, t: i * 3, step: 'iommu->iopf.dev0', actor: 'iopf.dev0', event: { type: 'PAGE_REQ', req: { addr: 4096 } }, before: 'idle', after: '{"a":"b"}', delivered: null, sent: [], obs: [], locks: [], ...over };
}

/** The line as the object form would print it (what the trace was before it was written out by hand). */
function objectForm(rec: StepRecord, context?: unknown): string {
  const line: Record<string, unknown> = { i: rec.i, t: rec.t, step: rec.step, actor: rec.actor, event: rec.event, before: rec.before, after: rec.after };
  if (rec.delivered) line.delivered = rec.delivered.id;
  if (rec.sent.length) line.sent = rec.sent;
  if (rec.obs.length) line.obs = rec.obs;
  if (rec.locks.length) line.locks = rec.locks;
  if (context !== undefined) line.context = context;
  return JSON.stringify(line);
}

describe('trace lines', () => {
  const env = { id: 7, from: 'dev0', to: 'iommu', type: 'PAGE_REQ', payload: { note: 'quote " and \\ and \n' }, cause: null };
  const cases: [string, StepRecord, unknown][] = [
    ['bare', record(0), undefined],
    ['delivered, sent, observed, locked', record(5, { delivered: env, sent: [env], obs: [{ what: 'pte-installed', actor: 'kworker0', seq: 1, addr: 8192 }], locks: [{ op: 'acquire', lock: 'mmap_lock', kind: 'rwsem', mode: 'read', by: 'kworker0', path: 'do_fault', seq: 0 }] }), undefined],
    ['escapes in keys and values, with a context', record(2, { step: 'a"b\\c', actor: 'é\u2028', before: '\u0000' }), { ctx: [1, null, 'x'], nested: { undef: undefined } }],
  ];
  for (const [name, rec, ctx] of cases) {
    it(`are JSON.stringify's bytes: ${name}`, () => {
      expect(traceLine(rec, ctx)).toBe(objectForm(rec, ctx));
      expect(JSON.parse(traceLine(rec, ctx))).toEqual(JSON.parse(objectForm(rec, ctx)));
    });
  }

  it('hash to sha256 over every line and a newline, whatever the batching (1 to 200 lines)', () => {
    for (const n of [1, 63, 64, 65, 200]) {
      const lines = Array.from({ length: n }, (_, i) => traceLine(record(i)));
      const h = new TraceHasher();
      for (const l of lines) h.add(l);
      const ref = createHash('sha256');
      for (const l of lines) ref.update(`${l}\n`);
      expect(h.digest(), `${n} lines`).toBe(ref.digest('hex'));
    }
    expect(new TraceHasher().digest()).toBe(createHash('sha256').digest('hex'));
  });
});
