/** The trace line (JSON.stringify's bytes, written only for traces) and the run hash over each step's compact record. */
import { describe, expect, it } from 'vitest';
import { TraceHasher, compactData, compactRecord, traceLine } from '../../core/trace.ts';
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

  it('hash each step as its compact record, code unit for code unit, then the data choices', () => {
    const recs = [
      record(0),
      record(1, { t: 70000, sent: [env, { ...env, to: 'é', type: 'X\u2028' }] }),
      record(2, { obs: [{ what: 'use', actor: 'a', seq: 0 }], locks: [{ op: 'release', lock: 'l', kind: 'mutex', mode: 'write', by: 'k', path: 'p' }] }),
    ];
    const h = new TraceHasher();
    const ref = new TraceHasher();
    for (const r of recs) {
      h.add(r);
      ref.addText(compactRecord(r));
    }
    h.addData([0, 1, 70000]);
    ref.addText(compactData([0, 1, 70000]));
    expect(h.digest()).toBe(ref.digest());
    expect(h.digest()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the compact record has the time, key, state, sends, observations and lock events, and nothing else', () => {
    const r = record(5, { t: 0x12345, sent: [env], obs: [{ what: 'use', actor: 'kworker0', seq: 1, obj: 'x' }], locks: [{ op: 'acquire', lock: 'L', kind: 'mutex', mode: 'write', by: 'k0', path: 'p', seq: 0 }] });
    expect(compactRecord(r)).toBe('\u2345\u0001iommu->iopf.dev0\u001f{"a":"b"}\u001eiommu\u001fPAGE_REQ\u001duse\u001cacquire\u001fL\u001fk0\n');
    // A change anywhere in the covered fields changes the hash; payloads and contexts do not.
    const hashOf = (x: StepRecord) => {
      const h = new TraceHasher();
      h.add(x);
      return h.digest();
    };
    const base = hashOf(r);
    expect(hashOf({ ...r, t: r.t + 1 })).not.toBe(base);
    expect(hashOf({ ...r, step: 'iommu->iopf.dev1' })).not.toBe(base);
    expect(hashOf({ ...r, after: 'x' })).not.toBe(base);
    expect(hashOf({ ...r, sent: [{ ...env, type: 'PAGE_RESPONSE' }] })).not.toBe(base);
    expect(hashOf({ ...r, obs: [] })).not.toBe(base);
    expect(hashOf({ ...r, locks: [{ ...r.locks[0], op: 'release' }] })).not.toBe(base);
    expect(hashOf({ ...r, sent: [{ ...env, payload: { other: 1 } }] })).toBe(base);
    // Field boundaries count: moving a character from one field to the next changes the hash.
    expect(hashOf({ ...r, step: 'iommu->iopf.dev', after: '0{"a":"b"}' })).not.toBe(base);
  });
});
