/**
 * iommu_sva_handle_mm() and the handle_mm_fault() it calls, written once as a step function
 * over MemoryPort. Each call performs exactly one step; `canStep` says whether the next step
 * can run now (taking mmap_lock for read waits for a writer). The same code runs inline, in a
 * turnstile thread (one step per granted turn) and in a free thread (all steps, real locks).
 *
 *   lock     mmget_not_zero(mm); mmap_read_lock(mm)         (INVALID if the mm is gone)
 *   lookup   vma_lookup(mm, addr); access check              (INVALID if no VMA or no permission)
 *   fault    handle_mm_fault(vma): under the page-table lock, check the PTE and install a page
 *            (do_anonymous_page) or add the missing permission (wp reuse)
 *   unlock   mmap_read_unlock(mm); mmput(mm)
 *
 * Bug variants: `skipMmapLock` walks the VMA tree and faults without mmap_lock;
 * `skipPtl` peeks at the PTE without the page-table lock and installs in a separate step
 * (`install`) without the locked pte_none() recheck.
 */
import { type MemoryPort, PROT_READ, PROT_WRITE, makePte, ptePfn, pteProt } from './memory.ts';

/** `running` is free mode's: the whole fault runs in its thread and the next step joins it. */
export type FaultPhase = 'lock' | 'lookup' | 'fault' | 'install' | 'unlock' | 'done' | 'running';
export type FaultStatus = 'SUCCESS' | 'INVALID';

export interface FaultState {
  phase: FaultPhase;
  addr: number;
  /** Access the device asked for: PROT_READ | PROT_WRITE bits. */
  access: number;
  status: FaultStatus;
  /** Did the lock step take mm_users (so unlock must mmput)? */
  gotMm: boolean;
  /** Id of the VMA the lookup found (0 before the lookup). */
  vma: number;
  /** The PTE the unlocked peek decided to install (skipPtl only). */
  pte: number;
}

export interface FaultOptions {
  /** Bug variant: walk the VMA tree without mmap_lock. */
  skipMmapLock?: boolean;
  /** Bug variant: install the PTE without the page-table lock and without rechecking it. */
  skipPtl?: boolean;
}

/**
 * The bug variants of this step function (systems/iopf/mmVariants.ts documents them; a system's
 * variant turns the options on by substituting its caller's guards).
 */
export const BUG_FAULT_WITHOUT_MMAP_LOCK = 'fault-without-mmap-lock';
export const BUG_FAULT_INSTALL_WITHOUT_PTL = 'fault-install-without-ptl';

const BY = 'handle_mm_fault';

export function startFault(addr: number, access: number): FaultState {
  return { phase: 'lock', addr, access, status: 'SUCCESS', gotMm: false, vma: 0, pte: 0 };
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
      return { ...st, phase: 'fault', vma: vma.id };
    }
    case 'fault': {
      mem.useVma(st.vma, st.addr, BY);
      if (opts.skipPtl) {
        // The unlocked peek: decide now, install in the next step without looking again.
        const old = mem.readPte(st.addr);
        const pte = nextPte(mem, old, st.access);
        return pte === old ? { ...st, phase: 'unlock' } : { ...st, phase: 'install', pte };
      }
      mem.lockPtl(who);
      const old = mem.readPte(st.addr);
      const pte = nextPte(mem, old, st.access);
      if (pte !== old) mem.setPte(st.addr, pte, BY);
      mem.unlockPtl(who);
      return { ...st, phase: 'unlock' };
    }
    case 'install': {
      mem.setPte(st.addr, st.pte, `${BY} (no PTL)`);
      return { ...st, phase: 'unlock', pte: 0 };
    }
    case 'unlock': {
      if (!opts.skipMmapLock) mem.unlockMmap(who);
      if (st.gotMm) mem.mmput();
      return { ...st, phase: 'done' };
    }
    case 'done':
    case 'running':
      throw new Error(`handle_mm_fault: step in phase ${st.phase}`);
  }
}

/** pte_none: allocate and map a page; present without the access: add it in place (wp reuse). */
function nextPte(mem: MemoryPort, old: number, access: number): number {
  if (old === 0) return makePte(mem.allocPage(), access);
  if ((pteProt(old) & access) === access) return old;
  return makePte(ptePfn(old), pteProt(old) | access);
}

/** The access check of iommu_sva_handle_mm(): every requested bit must be in the VMA. */
function permits(vmaProt: number, access: number): boolean {
  const want = access & (PROT_READ | PROT_WRITE);
  return (vmaProt & want) === want;
}
