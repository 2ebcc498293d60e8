import { describe, expect, it } from 'vitest';
import type { LockEvent, LockKind } from '../../core/model/locks.ts';
import { lockdep } from '../../kernel/lockdep.ts';
import type { StepRecord } from '../../core/model/monitor.ts';

const ev = (op: 'acquire' | 'release', lock: string, by: string, path: string, kind: LockKind = 'mutex'): LockEvent => ({ op, lock, kind, mode: 'write', by, path });
type LooseObs = { actor: string; what: string; seq?: number; [k: string]: unknown };
/** A step whose lock events come first, in order, then its observations (unless seq says otherwise). */
const step = (i: number, locks: LockEvent[], obs: LooseObs[] = []): StepRecord => ({
  i, t: i, step: 's', actor: 'a', event: { type: 'X' }, before: '', after: '', delivered: null, sent: [],
  obs: obs.map((o, j) => ({ ...o, seq: o.seq ?? 100 + j }) as StepRecord['obs'][number]),
  locks: locks.map((e, j) => ({ ...e, seq: e.seq ?? j })),
});

function run(steps: StepRecord[]) {
  const m = lockdep.create({});
  for (const s of steps) {
    const v = m.onStep!(s);
    if (v) return v;
  }
  return null;
}

describe('lockdep', () => {
  const removal = step(0, [
    ev('acquire', 'queue->lock', 'iopf.dev0', 'iopf_queue_remove_device'),
    ev('acquire', 'fault_param->lock', 'iopf.dev0', 'iopf_queue_remove_device'),
    ev('release', 'fault_param->lock', 'iopf.dev0', 'iopf_queue_remove_device'),
    ev('release', 'queue->lock', 'iopf.dev0', 'iopf_queue_remove_device'),
  ]);

  it('reports a deliberate inversion naming both locks and both paths', () => {
    const inverted = step(1, [ev('acquire', 'fault_param->lock', 'iopf.dev1', 'bad_discard'), ev('acquire', 'queue->lock', 'iopf.dev1', 'bad_discard')]);
    expect(run([removal, inverted])?.message).toBe(
      'lock order inversion: bad_discard takes queue->lock while holding fault_param->lock, but iopf_queue_remove_device took fault_param->lock while holding queue->lock',
    );
  });

  it('accepts the same order taken again by another path', () => {
    const again = step(1, [ev('acquire', 'queue->lock', 'x', 'discard'), ev('acquire', 'fault_param->lock', 'x', 'discard')]);
    expect(run([removal, again])).toBeNull();
  });

  it('reports taking a mutex, or sleeping, with a spinlock held', () => {
    const spin = ev('acquire', 'fault->lock', 'vmm', 'iommufd_fault_fops_read', 'spinlock');
    expect(run([step(0, [spin, ev('acquire', 'fault->mutex', 'vmm', 'read')])])?.message).toBe(
      'vmm takes sleeping mutex fault->mutex in read while holding spinlock fault->lock (taken in iommufd_fault_fops_read)',
    );
    const sleep = step(0, [spin], [{ actor: 'vmm', what: 'might-sleep', path: 'copy_to_user' }]);
    expect(run([sleep])?.message).toBe('vmm may sleep in copy_to_user while holding spinlock fault->lock (taken in iommufd_fault_fops_read)');
    const released = step(0, [spin, ev('release', 'fault->lock', 'vmm', 'read', 'spinlock')], [{ actor: 'vmm', what: 'might-sleep', path: 'copy_to_user' }]);
    expect(run([released])).toBeNull();
  });
});

describe('lockdep: user faults under a lock of the fault-reporting path', () => {
  it('fails when a mutex held across copy_to_user is taken by the reporting context', () => {
    const read = step(0, [ev('acquire', 'fault->mutex', 'vmm', 'iommufd_fault_fops_read')], [{ actor: 'iommufd', what: 'might-fault', path: 'copy_to_user', thread: 'vmm' }]);
    const unlock = step(1, [ev('release', 'fault->mutex', 'vmm', 'iommufd_fault_fops_read')]);
    const handler = step(2, [{ ...ev('acquire', 'fault->mutex', 'prq-thread', 'iommufd_fault_iopf_handler'), irq: true }]);
    expect(run([read, unlock, handler])?.message).toBe(
      'fault->mutex is held across a user-memory fault in copy_to_user and taken in the fault-reporting context by iommufd_fault_iopf_handler: userspace paging can stall IOMMU fault handling',
    );
  });

  it('accepts a separate spinlock for the reporting context', () => {
    const read = step(0, [ev('acquire', 'fault->mutex', 'vmm', 'read')], [{ actor: 'iommufd', what: 'might-fault', path: 'copy_to_user', thread: 'vmm' }]);
    const handler = step(1, [{ ...ev('acquire', 'fault->lock', 'prq-thread', 'iommufd_fault_iopf_handler', 'spinlock'), irq: true }, ev('release', 'fault->lock', 'prq-thread', 'x', 'spinlock')]);
    expect(run([read, handler])).toBeNull();
  });
});

describe('lockdep: order within a step', () => {
  it('sees a user fault that happens before the unlock in the same step', () => {
    const read = step(0, [ev('acquire', 'fault->mutex', 'vmm', 'read'), { ...ev('release', 'fault->mutex', 'vmm', 'read'), seq: 5 }], [{ actor: 'iommufd', what: 'might-fault', path: 'copy_to_user', thread: 'vmm', seq: 3 }]);
    const handler = step(1, [{ ...ev('acquire', 'fault->mutex', 'prq-thread', 'iommufd_fault_iopf_handler'), irq: true }]);
    expect(run([read, handler])?.message).toMatch(/held across a user-memory fault in copy_to_user/);
  });
});
