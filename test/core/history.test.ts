/** The after-the-run check of free mode: a stamped history, judged in stamp order by the mm monitors. */
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../core/history.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import type { HistoryEvent } from '../../core/model/executor.ts';
import { iopfDefaults } from '../helpers.ts';

const alloc: HistoryEvent = { s: 0, actor: 'mm', obs: { what: 'vma-alloc', vma: 1, start: 0x10000, end: 0x18000, prot: 3, op: 'initial' } };
const lookupUse: HistoryEvent = { s: 3, actor: 'kworker0', obs: { what: 'vma-use', vma: 1, addr: 0x12000, by: 'handle_mm_fault' } };
const free: HistoryEvent = { s: 2, actor: 'proc', obs: { what: 'vma-free', vma: 1, start: 0x10000, end: 0x18000, op: 'munmap' } };
const check = (events: HistoryEvent[]) => checkHistory(iopfScenario.monitors, iopfDefaults(), events, 40);

describe('free-mode history check', () => {
  it('judges events in stamp order and names the stamp', () => {
    const v = check([alloc, free, lookupUse]);
    expect(v?.monitor).toBe('vma-use-after-free');
    expect(v?.step).toBe(40);
    expect(v?.message).toBe('free-mode history, stamp 3: use after free: kworker0 (handle_mm_fault) dereferenced vma#1 [0x10000-0x18000) rw for 0x12000, freed at step 2 by proc (munmap)');
  });

  it('is quiet when the use comes before the free', () => {
    expect(check([alloc, { ...lookupUse, s: 1 }, free])).toBeNull();
  });

  it('catches mmap_lock held by a reader and the writer at once', () => {
    const lock = (s: number, by: string, mode: 'read' | 'write'): HistoryEvent => ({ s, actor: by, lock: { op: 'acquire', lock: 'mmap_lock', kind: 'rwsem', mode, by, path: 'x' } });
    const v = check([lock(1, 'kworker1', 'read'), lock(2, 'proc', 'write')]);
    expect(v?.monitor).toBe('mm-lock-exclusion');
    expect(v?.message).toMatch(/stamp 2: mmap_lock taken for write by proc .* held by kworker1 \(read\)/);
  });
});
