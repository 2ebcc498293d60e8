/**
 * iommu_sva_handle_mm() and the handle_mm_fault() it calls, written once as a step function
 * over MemoryPort. Each call performs exactly one step; `canStep` says whether the next step
 * can run now (taking mmap_lock for read waits for a writer). The same code runs inline and in
 * worker threads.
 *
 *   lock    mmget_not_zero(mm); mmap_read_lock(mm)          (INVALID if the mm is gone)
 *   lookup  vma_lookup(mm, addr); access check               (INVALID if no VMA or no permission)
 *   fault   handle_mm_fault(): install the PTE under the PTL
 *   unlock  mmap_read_unlock(mm); mmput(mm)
 */
import { type MemoryPort, PROT_READ, PROT_WRITE } from './memory.ts';

export type FaultPhase = 'lock' | 'lookup' | 'fault' | 'unlock' | 'done';
export type FaultStatus = 'SUCCESS' | 'INVALID';

export interface FaultState {
  phase: FaultPhase;
  addr: number;
  /** Access the device asked for: PROT_READ | PROT_WRITE bits. */
  access: number;
  status: FaultStatus;
  /** Did the lock step take mm_users (so unlock must mmput)? */
  gotMm: boolean;
}

export interface FaultOptions {
  /** Bug variant: walk the VMA tree without mmap_lock. */
  skipMmapLock?: boolean;
}

export function startFault(addr: number, access: number): FaultState {
  return { phase: 'lock', addr, access, status: 'SUCCESS', gotMm: false };
}

export function canStep(mem: MemoryPort, st: FaultState, opts: FaultOptions = {}): boolean {
  if (st.phase === 'lock' && !opts.skipMmapLock) return mem.canLockMmap('read');
  return st.phase !== 'done';
}

export function step(mem: MemoryPort, st: FaultState, who: string, opts: FaultOptions = {}): FaultState {
  switch (st.phase) {
    case 'lock': {
      if (!mem.mmget()) return { ...st, phase: 'done', status: 'INVALID' };
      if (!opts.skipMmapLock) mem.lockMmap(who, 'read');
      return { ...st, phase: 'lookup', gotMm: true };
    }
    case 'lookup': {
      const vma = mem.findVma(st.addr);
      if (!vma || !permits(vma.prot, st.access)) return { ...st, phase: 'unlock', status: 'INVALID' };
      return { ...st, phase: 'fault' };
    }
    case 'fault': {
      mem.installPte(st.addr, st.access);
      return { ...st, phase: 'unlock' };
    }
    case 'unlock': {
      if (!opts.skipMmapLock) mem.unlockMmap(who);
      if (st.gotMm) mem.mmput();
      return { ...st, phase: 'done' };
    }
    case 'done':
      throw new Error('handle_mm_fault: step after done');
  }
}

/** The access check of iommu_sva_handle_mm(): every requested bit must be in the VMA. */
function permits(vmaProt: number, access: number): boolean {
  const want = access & (PROT_READ | PROT_WRITE);
  return (vmaProt & want) === want;
}
