/**
 * tce.vcpuN: a guest vCPU making sPAPR TCE hypercalls that KVM handles in the host kernel
 * (arch/powerpc/kvm/book3s_64_vio.c, 6.17: virtual mode only; book3s_64_vio_hv.c is gone). KVM
 * maps straight into the VFIO container's table linked to the guest's LIOBN (the stit list,
 * read lock-free), using the preregistered regions: a second mapper next to the VMM's ioctls.
 * v2 containers only (KVM returns H_TOO_HARD for v1, which falls back to QEMU).
 *
 * The guest TCE value carries a user address already translated (kvmppc_tce_to_ua) or `null`
 * for a gpa outside every memslot. Fixed-model corrections, as in the VFIO paths: old mapped
 * counts are released after iommu_tce_kill (`releaseAfterKill`), and RCU is held from
 * mm_iommu_lookup to mm_iommu_mapped_inc (`lookupUnderRcu`). Corrected without a variant
 * (docs): kvmppc_clear_tce() after a failed map releases and invalidates what it clears (6.17
 * only xchg's: the old entry's mapped count leaks and its TCE stays in the cache).
 */
import { type Facets, type Tce, permOf } from '../state/index.ts';
import { DDW_OFFSET, type Op } from '../workload.ts';
import { H_PARAMETER, H_TOO_HARD, KVM_SRCU, MMAP_LOCK, allocLevel, deferredCount, drain, exchange, installStep, kill, retire } from './common.ts';
import { type Exec, type PathDef, type ProgramDef, type StepDef, threadKind } from './interp.ts';

const need = (lock: string, mode: 'read' | 'write' = 'write') => ({ lock, mode });

/** The stit for a guest entry: the container's table whose window holds it (read lock-free). */
function stitTable(x: Exec, entry: number): string | null {
  return x.S.container.findTable(entry, (id) => x.S.tables.table(id))?.id ?? null;
}

/** kvmppc_ioba_validate(stt, ioba, npages): the guest's window is the table's. */
function iobaValid(S: Facets, entry: number, npages: number, windowPages: number, ddw: number): boolean {
  void S;
  return entry >= ddw && entry + npages <= ddw + windowPages;
}

/**
 * The map of one entry (kvmppc_tce_iommu_map → kvmppc_tce_iommu_do_map): pua (alloc), lookup,
 * mapped_inc, xchg, the old entry's kvmppc_tce_iommu_mapped_dec, *pua = ua. `after`: the label
 * once the entry is mapped; on failure f.ret = H_TOO_HARD and the path goes to `clear`.
 */
function mapSteps(after: (x: Exec) => void, afterNext: readonly string[]): Record<string, StepDef> {
  const fail = (x: Exec) => {
    x.f.ret = H_TOO_HARD;
    x.go('clearTce');
  };
  return {
    // `if (!pua) return H_TOO_HARD;` (IOMMU_TABLE_USERSPACE_ENTRY allocates: GFP_ATOMIC).
    pua: {
      next: ['install', 'lookup', 'clearTce'],
      fn: 'kvmppc_tce_iommu_do_map',
      run: (x) => {
        const idx = x.f.idx;
        if (x.S.tables.mirrorRead(x.f.tid, idx) !== undefined) return x.go('lookup');
        const w = x.S.tables.walk(x.f.tid, idx, true);
        if (w.leaf) throw new Error('mirror level present');
        if (!allocLevel(x, x.f.tid, w, true, 'pua')) return fail(x);
        x.go('install');
      },
    },
    install: installStep(['pua', 'xchg']),
    // mem = mm_iommu_lookup(kvm->mm, ua, …) (rcu inside); mm_iommu_ua_to_hpa.
    lookup: {
      next: ['inc', 'clearTce'],
      fn: 'kvmppc_tce_iommu_do_map',
      run: (x) => {
        const P = x.S.prereg;
        P.rcuLock(x.self);
        const region = P.lookup(x.f.ua);
        if (region) {
          x.f.mem = region;
          x.f.pfn = P.hpa(region, x.f.ua, x.where);
        }
        if (!region || !x.g('lookupUnderRcu')) P.rcuUnlock(x.self);
        if (!region) return fail(x);
        x.go('inc');
      },
    },
    // `if (mm_iommu_mapped_inc(mem)) return H_TOO_HARD;`
    inc: {
      next: ['xchg', 'clearTce'],
      fn: 'mm_iommu_mapped_inc',
      run: (x) => {
        const P = x.S.prereg;
        const ok = P.mappedInc(x.f.mem, x.where);
        if ((P.d.readers[x.self] ?? 0) > 0) P.rcuUnlock(x.self);
        if (!ok) return fail(x);
        x.go('xchg');
      },
    },
    // iommu_tce_xchg_no_kill; on failure mm_iommu_mapped_dec(mem) (KVM gets this right);
    // `if (dir != DMA_NONE) kvmppc_tce_iommu_mapped_dec(kvm, tbl, entry); *pua = ua;`
    xchg: {
      next: ['install', 'clearTce', ...afterNext],
      fn: 'iommu_tce_xchg_no_kill',
      run: (x) => {
        const tce: Tce = { pfn: x.f.pfn, perm: permOf(x.f.dir), src: 'v2', region: x.f.mem };
        const r = exchange(x, x.f.tid, x.f.idx, tce);
        if (!r.ok) {
          if (allocLevel(x, x.f.tid, r.walk, false, 'xchg')) return x.go('install');
          x.S.prereg.mappedDec(x.f.mem, x.where);
          return fail(x);
        }
        const oldUa = x.S.tables.mirrorRead(x.f.tid, x.f.idx);
        if (r.old) retire(x, { ua: oldUa ?? 0 });
        x.S.tables.mirrorWrite(x.f.tid, x.f.idx, x.f.ua);
        after(x);
      },
    },
  };
}

/** kvmppc_clear_tce (corrected: the old entry's mapped count released after a kill), then unlock_exit. */
function clearTceStep(next: readonly string[], then: (x: Exec) => void): StepDef {
  return {
    next,
    fn: 'kvmppc_clear_tce',
    run: (x) => {
      const r = exchange(x, x.f.tid, x.f.idx, null);
      if (r.ok && r.old) {
        const ua = x.S.tables.mirrorRead(x.f.tid, x.f.idx);
        retire(x, { ua: ua ?? 0 });
        x.S.tables.mirrorWrite(x.f.tid, x.f.idx, null);
      }
      const t = x.S.tables.table(x.f.tid);
      if (x.params.kill !== 'per-entry' && (deferredCount(x) > 0 || r.ok)) kill(x, t.id, t.offset + x.f.idx, 1);
      drain(x);
      then(x);
    },
  };
}

function unlockExit(x: Exec, ret: number): void {
  x.unlock(KVM_SRCU);
  x.exit(ret);
}

/** H_PUT_TCE: kvmppc_h_put_tce. */
function putTcePath(): PathDef {
  const steps: Record<string, StepDef> = {
    // kvmppc_ioba_validate(stt, ioba, 1); srcu_read_lock(&kvm->srcu); kvmppc_tce_validate;
    // kvmppc_tce_to_ua (H_PARAMETER).
    start: {
      next: ['pua', 'unmap', 'exit'],
      fn: 'kvmppc_h_put_tce',
      needs: () => [need(KVM_SRCU, 'read')],
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_put_tce' }>;
        if (!iobaValid(x.S, op.entry, 1, x.p('windowPages'), DDW_OFFSET)) return x.exit(H_PARAMETER);
        x.lock(KVM_SRCU, 'read');
        if (op.tce.dir !== 'NONE' && op.tce.ua === null) return unlockExit(x, H_PARAMETER);
        const tid = stitTable(x, op.entry);
        if (!tid) return unlockExit(x, 0); // no stit: only the guest-visible table changes
        const t = x.S.tables.table(tid);
        Object.assign(x.f, { tid, idx: op.entry - t.offset, ua: op.tce.ua, dir: op.tce.dir, ret: 0, deferred: [] });
        if (op.tce.dir === 'NONE') return x.go('unmap');
        // kvmppc_tce_validate: the ua must be preregistered (H_TOO_HARD otherwise).
        x.S.prereg.rcuLock(x.self);
        const ok = x.S.prereg.lookup(op.tce.ua!) !== null;
        x.S.prereg.rcuUnlock(x.self);
        if (!ok) return unlockExit(x, H_TOO_HARD);
        x.go('pua');
      },
    },
    ...mapSteps((x) => x.go('kill'), ['kill']),
    // kvmppc_tce_iommu_unmap: xchg to NONE; the old entry's mapped_dec.
    unmap: {
      next: ['kill'],
      fn: 'kvmppc_tce_iommu_do_unmap',
      run: (x) => {
        const r = exchange(x, x.f.tid, x.f.idx, null);
        if (r.ok && r.old) {
          const ua = x.S.tables.mirrorRead(x.f.tid, x.f.idx);
          retire(x, { ua: ua ?? 0 });
          x.S.tables.mirrorWrite(x.f.tid, x.f.idx, null);
        }
        x.go('kill');
      },
    },
    // iommu_tce_kill(stit->tbl, entry, 1).
    kill: {
      next: ['drain', 'exit'],
      fn: 'kvmppc_h_put_tce',
      run: (x) => {
        const t = x.S.tables.table(x.f.tid);
        if (x.params.kill !== 'per-entry') kill(x, t.id, t.offset + x.f.idx, 1);
        if (deferredCount(x) > 0) return x.go('drain');
        unlockExit(x, 0);
      },
    },
    drain: {
      next: ['exit'],
      fn: 'kvmppc_h_put_tce',
      run: (x) => {
        drain(x);
        unlockExit(x, 0);
      },
    },
    clearTce: clearTceStep(['exit'], (x) => unlockExit(x, x.f.ret)),
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg'], readOnly: ['tce.container'], locks: [KVM_SRCU] };
}

/** H_PUT_TCE_INDIRECT: kvmppc_h_put_tce_indirect (two passes over the guest's list page). */
function putTceIndirectPath(): PathDef {
  const nextEntry = (x: Exec) => {
    x.f.i++;
    if (x.f.i < x.f.n) return x.go('mapRead');
    x.go('kill');
  };
  const steps: Record<string, StepDef> = {
    // kvmppc_ioba_validate(stt, ioba, npages); srcu_read_lock; the list page's gpa → ua.
    start: {
      next: ['validate', 'exit'],
      fn: 'kvmppc_h_put_tce_indirect',
      needs: () => [need(KVM_SRCU, 'read')],
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_put_tce_indirect' }>;
        if (op.npages > 512 || !iobaValid(x.S, op.entry, op.npages, x.p('windowPages'), DDW_OFFSET)) return x.exit(H_PARAMETER);
        x.lock(KVM_SRCU, 'read');
        Object.assign(x.f, { i: 0, n: op.npages, ret: 0, deferred: [] });
        x.go('validate');
      },
    },
    // First pass: get_user(tce, tces + i); kvmppc_tce_validate (H_TOO_HARD → unlock_exit).
    validate: {
      next: ['validate', 'mapRead', 'exit'],
      fn: 'kvmppc_h_put_tce_indirect',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_put_tce_indirect' }>;
        x.faults('get_user(tce, tces + i)');
        const tce = x.S.kvm.read(op.list, x.f.i);
        if (!tce) return unlockExit(x, H_TOO_HARD);
        if (tce.dir !== 'NONE') {
          if (tce.ua === null) return unlockExit(x, H_TOO_HARD);
          x.S.prereg.rcuLock(x.self);
          const ok = x.S.prereg.lookup(tce.ua) !== null;
          x.S.prereg.rcuUnlock(x.self);
          if (!ok) return unlockExit(x, H_TOO_HARD);
        }
        x.f.i++;
        if (x.f.i < x.f.n) return x.go('validate');
        x.f.i = 0;
        x.go('mapRead');
      },
    },
    // Second pass: get_user again; kvmppc_tce_to_ua: `ret = H_PARAMETER; goto unlock_exit;`
    // (before ddfd151f3def: `return H_PARAMETER;` with kvm->srcu still held).
    mapRead: {
      next: ['pua', 'mapRead', 'kill', 'unlock', 'exit'],
      fn: 'kvmppc_h_put_tce_indirect',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_put_tce_indirect' }>;
        x.faults('get_user(tce, tces + i)');
        const tce = x.S.kvm.read(op.list, x.f.i)!;
        if (tce.dir !== 'NONE' && tce.ua === null) {
          x.f.ret = H_PARAMETER;
          if (x.g('indirectUnlockOnError')) return x.go('unlock');
          return x.exit(H_PARAMETER);
        }
        const entry = op.entry + x.f.i;
        const tid = stitTable(x, entry);
        if (!tid || tce.dir === 'NONE') return nextEntry(x);
        const t = x.S.tables.table(tid);
        Object.assign(x.f, { tid, idx: entry - t.offset, ua: tce.ua, dir: tce.dir });
        x.go('pua');
      },
    },
    ...mapSteps(nextEntry, ['mapRead', 'kill']),
    clearTce: clearTceStep(['unlock'], (x) => x.go('unlock')),
    // unlock_exit: `if (!ret) iommu_tce_kill(stit->tbl, entry, npages);` srcu_read_unlock.
    kill: {
      next: ['drain', 'exit'],
      fn: 'kvmppc_h_put_tce_indirect',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_put_tce_indirect' }>;
        const tid = x.f.tid ?? stitTable(x, op.entry);
        if (tid && x.params.kill !== 'per-entry') kill(x, tid, op.entry, op.npages);
        if (deferredCount(x) > 0) return x.go('drain');
        unlockExit(x, 0);
      },
    },
    drain: {
      next: ['exit'],
      fn: 'kvmppc_h_put_tce_indirect',
      run: (x) => {
        drain(x);
        unlockExit(x, x.f.ret);
      },
    },
    // unlock_exit after an error: whatever the loop deferred is invalidated first (corrected), then released.
    unlock: {
      next: ['exit'],
      fn: 'kvmppc_h_put_tce_indirect',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_put_tce_indirect' }>;
        if (deferredCount(x) > 0) {
          const tid = x.f.tid ?? stitTable(x, op.entry);
          if (tid && x.params.kill !== 'per-entry') kill(x, tid, op.entry, op.npages);
          drain(x);
        }
        unlockExit(x, x.f.ret);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg', 'tce.kvm'], readOnly: ['tce.container'], locks: [KVM_SRCU, MMAP_LOCK] };
}

/** H_STUFF_TCE with a NONE value: kvmppc_h_stuff_tce (no srcu in 6.17). */
function stuffTcePath(): PathDef {
  const steps: Record<string, StepDef> = {
    start: {
      next: ['stuff', 'exit'],
      fn: 'kvmppc_h_stuff_tce',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_stuff_tce' }>;
        if (!iobaValid(x.S, op.entry, op.npages, x.p('windowPages'), DDW_OFFSET)) return x.exit(H_PARAMETER);
        const tid = stitTable(x, op.entry);
        if (!tid) return x.exit(0);
        const t = x.S.tables.table(tid);
        Object.assign(x.f, { tid, i: 0, idx0: op.entry - t.offset, deferred: [] });
        x.go('stuff');
      },
    },
    // kvmppc_tce_iommu_unmap(kvm, stt, stit->tbl, entry + i).
    stuff: {
      next: ['stuff', 'kill'],
      fn: 'kvmppc_tce_iommu_do_unmap',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_stuff_tce' }>;
        const idx = x.f.idx0 + x.f.i;
        const r = exchange(x, x.f.tid, idx, null);
        if (r.ok && r.old) {
          const ua = x.S.tables.mirrorRead(x.f.tid, idx);
          retire(x, { ua: ua ?? 0 });
          x.S.tables.mirrorWrite(x.f.tid, idx, null);
        }
        x.f.i++;
        x.go(x.f.i < op.npages ? 'stuff' : 'kill');
      },
    },
    // invalidate_exit: iommu_tce_kill(stit->tbl, ioba >> page_shift, npages).
    kill: {
      next: ['exit'],
      fn: 'kvmppc_h_stuff_tce',
      run: (x) => {
        const op = x.f.op as Extract<Op, { op: 'h_stuff_tce' }>;
        if (x.params.kill !== 'per-entry') kill(x, x.f.tid, op.entry, op.npages);
        drain(x);
        x.exit(0);
      },
    },
  };
  return { entry: 'start', steps, facets: ['tce.container', 'tce.tables', 'tce.cache', 'tce.mem', 'tce.prereg'], readOnly: ['tce.container'], locks: [] };
}

/** The guest (this vCPU) stores a TCE into a list page another vCPU may be passing to H_PUT_TCE_INDIRECT. */
function rewritePath(): PathDef {
  return {
    entry: 'start',
    steps: {
      start: {
        next: ['exit'],
        fn: 'guest store',
        run: (x) => {
          const op = x.f.op as Extract<Op, { op: 'rewrite' }>;
          x.S.kvm.write(op.list, op.idx, op.value);
          x.exit(0);
        },
      },
    },
    facets: ['tce.kvm'],
    locks: [],
  };
}

export const vcpuGuards = {
  releaseAfterKill: true,
  levelCmpxchg: true,
  lookupUnderRcu: true,
  dirtySkipsDevmem: true,
  indirectUnlockOnError: true,
};

export const vcpuProgram: ProgramDef = {
  kind: 'tce.vcpu',
  paths: { h_put_tce: putTcePath(), h_put_tce_indirect: putTceIndirectPath(), h_stuff_tce: stuffTcePath(), rewrite: rewritePath() },
  guards: vcpuGuards,
  pathOf: (op) => op.op,
  finishes: true,
  // vCPUs run once QEMU has set the machine up (the VMM's start_guest op).
  readyFacets: ['tce.kvm'],
  ready: (_c, S) => S.kvm.d.running,
};

export const vcpuKind = threadKind(vcpuProgram);
