/**
 * An in-kernel access driver (an mdev-like user of the iommufd_access_* kAPI, device.c): it creates
 * an access on an IOAS, pins IOVA ranges (iommufd_access_pin_pages: iova_rwsem R, per area
 * iopt_area_add_access under pages->mutex), touches the pinned pages with the CPU (kmap + memcpy),
 * unpins them (iommufd_access_unpin_pages), and destroys the access (iommufd_access_destroy ->
 * iommufd_object_destroy_user, which must succeed: a WARN otherwise).
 *
 * Its unmap callback (access->ops->unmap) is called synchronously by an IOAS_UNMAP that finds
 * accesses on an area: the model delivers NOTIFY_UNMAP (accepted only between operations, when the
 * driver holds no lock), runs the unpins in the driver's own steps and replies UNMAP_DONE.
 * Ownership: the driver holds one users reference on the access object from create to destroy.
 */
import type { EventObject } from 'xstate';
import { defineKind } from '../../../core/model/kind.ts';
import { type ContigPart, contigAreas, iovaToIndex } from '../state/ioPagetable.ts';
import { addAccess, removeAccess } from '../state/pages.ts';
import { SYSTEM, XA_LOCK, destroyRwsem, domainsLock, iovaLock, pagesMutex } from '../types.ts';
import { type AccessOp, opName } from './ops.ts';
import { type Kit, L, type LockOp, type StepResult, type StepTable, type ThreadContext, buildThread, threadKind, userOp, userReady } from './stepper.ts';

export interface Pin {
  iova: number;
  len: number;
  pfns: number[];
}

export interface AccessContext extends ThreadContext {
  ops: AccessOp[];
  opIdx: number;
  /** Unpins queued by the unmap callback, run before the script goes on. */
  queue: AccessOp[];
  ioas: number;
  created: boolean;
  pins: Pin[];
  maxPages: number;
  rcs: number[];
}

export interface AccessInput {
  id: string;
  ops: AccessOp[];
  maxPages: number;
}

interface Locals {
  iova: number;
  len: number;
  parts: ContigPart[];
  partIdx: number;
  lastArea: string | null;
  done: boolean;
  rc: number;
  internal: boolean;
}

type C = AccessContext;
const loc = (c: C) => c.l as unknown as Locals;
const current = (c: C): AccessOp => (c.l as { cur?: AccessOp }).cur!;

function end(c: C, k: Kit, rc: number, lock: LockOp[] = [], set: Partial<C> = {}): StepResult<C> {
  if (c.opName) k.st.ioctlEnd(c.opName, rc);
  return { to: 'idle', set: { opName: '', l: {}, rcs: [...c.rcs, rc], ...set }, lock };
}

function partLock(c: C, view: { shared<T>(n: string): T } | null, which: 'current' | 'done'): { lock: string }[] {
  const l = loc(c);
  if (!view) return [...Array(c.maxPages).keys()].map((i) => ({ lock: pagesMutex(`P${i}`) }));
  const st = view.shared<Kit['st']>('iommufd');
  const parts = which === 'current' ? (l.parts ?? []).slice(l.partIdx, l.partIdx + 1) : (l.parts ?? []).slice(0, l.partIdx);
  return [...new Set(parts.map((p) => st.s.areas[p.area]?.p).filter((p): p is string => Boolean(p)))].map((p) => ({ lock: pagesMutex(p) }));
}

const steps: StepTable<C> = {
  idle: {
    description: 'between kAPI calls: the next queued unpin (unmap callback) or the next op of the script',
    ready: (c, view) => c.queue.length > 0 || (c.opIdx < c.ops.length && userReady(c.ops[c.opIdx], view)),
    to: ['create.run', 'pin.lock', 'rw.run', 'unpin.lock', 'destroy.run', 'idle'],
    run(c, k) {
      const fromQueue = c.queue.length > 0;
      const o = fromQueue ? c.queue[0] : c.ops[c.opIdx];
      const next = fromQueue ? { queue: c.queue.slice(1) } : { opIdx: c.opIdx + 1 };
      if (o.op === 'reply') return { to: 'idle', set: next, send: [{ to: o.to, type: 'UNMAP_DONE', payload: { access: c.id } }] };
      if (o.op === 'signal' || o.op === 'wait') return { to: 'idle', set: { ...next, ...userOp(c.id, o, k) } };
      const internal = o.op === 'notifyUnpin';
      const name = opName(o);
      if (!internal) k.st.ioctlBegin(name);
      const base = { ...next, opName: internal ? '' : name, opStart: k.cache.now() };
      const l = { cur: o, internal };
      switch (o.op) {
        case 'create':
          return { to: 'create.run', set: { ...base, l } };
        case 'pin':
        case 'unpin':
        case 'notifyUnpin':
          if (!c.created) return end({ ...c, opName: base.opName }, k, -2, [], next);
          if (o.op !== 'pin' && !c.pins.some((p) => p.iova === o.iova && p.len === o.len)) return end({ ...c, opName: base.opName }, k, 0, [], next);
          return { to: o.op === 'pin' ? 'pin.lock' : 'unpin.lock', set: { ...base, l: { ...l, iova: o.iova, len: o.len } } };
        case 'rw':
          return { to: 'rw.run', set: { ...base, l } };
        case 'destroy':
          return { to: 'destroy.run', set: { ...base, l } };
      }
    },
  },
  'create.run': {
    description: 'iommufd_access_create() + iopt_add_access(): object (users 2: the xarray and the driver), access_list (domains W + iova W)',
    uses: 'state',
    takes: (c) => {
      const o = current(c) as Extract<AccessOp, { op: 'create' }>;
      return [{ lock: domainsLock(o.ioas) }, { lock: iovaLock(o.ioas) }];
    },
    to: ['idle'],
    run(c, k) {
      const o = current(c) as Extract<AccessOp, { op: 'create' }>;
      const st = k.st;
      if (c.created) return end(c, k, -17);
      if (st.fault('kzalloc:access_obj')) return end(c, k, -12);
      const lock = [L.lock(domainsLock(o.ioas), 'iopt_add_access'), L.lock(iovaLock(o.ioas), 'iopt_add_access')];
      const unlock = [L.unlock(iovaLock(o.ioas), 'iopt_add_access'), L.unlock(domainsLock(o.ioas), 'iopt_add_access')];
      if (st.fault('xa_alloc:access_list')) return end(c, k, -12, [...lock, ...unlock]);
      st.need(iovaLock(o.ioas), 'iopt->access_list');
      st.iopt(o.ioas).accessList.push(c.id);
      st.s.objects[c.id] = { id: c.id, type: 'access', ioas: o.ioas, users: 2, erased: false, destroyed: false };
      st.journal(`obj:${c.id}`, 1);
      st.obs('alloc', { obj: c.id, owner: c.id, by: 'iommufd_access_create' });
      return end(c, k, 0, [...lock, ...unlock], { created: true, ioas: o.ioas });
    },
  },
  'pin.lock': {
    description: 'iommufd_access_pin_pages(): down_read(iova_rwsem), the contiguous areas of the range',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock(c.ioas), mode: 'read' }],
    to: ['pin.add', 'idle'],
    run(c, k) {
      const l = loc(c);
      k.st.use(c.id, 'iommufd_access_pin_pages');
      const lock = [L.lock(iovaLock(c.ioas), 'iommufd_access_pin_pages', 'read')];
      const { parts, lastArea, done } = contigAreas(k.st, c.ioas, l.iova, l.iova + l.len - 1);
      l.parts = parts;
      l.partIdx = 0;
      l.lastArea = lastArea;
      l.done = done;
      if (!parts.length) return end(c, k, -2, [...lock, L.unlock(iovaLock(c.ioas), 'iommufd_access_pin_pages')]);
      return { to: 'pin.add', lock };
    },
  },
  'pin.add': {
    description: 'iopt_area_add_access() under pages->mutex (refused while an unmap prevents accesses)',
    takes: (c, view) => partLock(c, view, 'current'),
    to: ['pin.add', 'pin.done', 'pin.err'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const part = l.parts[l.partIdx];
      const a = st.area(part.area);
      st.use(a.id, 'iommufd_access_pin_pages');
      if (a.preventAccess) {
        l.rc = -22;
        return { to: 'pin.err' };
      }
      const mx = pagesMutex(a.p);
      const rc = addAccess(st, a, iovaToIndex(a, part.from), iovaToIndex(a, part.to));
      const lock = [L.lock(mx, 'iopt_area_add_access'), L.unlock(mx, 'iopt_area_add_access')];
      if (rc) {
        l.rc = rc;
        return { to: 'pin.err', lock };
      }
      l.partIdx++;
      return { to: l.partIdx < l.parts.length ? 'pin.add' : 'pin.done', lock };
    },
  },
  'pin.done': {
    description: 'iopt_area_contig_done() under the lock (uses the last area); up_read(iova_rwsem)',
    uses: 'state',
    to: ['idle', 'pin.err'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      if (l.lastArea) st.use(l.lastArea, 'iopt_area_contig_done');
      if (!l.done) {
        l.rc = -2;
        return { to: 'pin.err' };
      }
      const pfns: number[] = [];
      for (const part of l.parts) {
        const a = st.area(part.area);
        const p = st.pages(a.p);
        for (let iova = part.from; iova <= part.to; iova++) pfns.push(p.xarray[iovaToIndex(a, iova)]);
      }
      return end(c, k, 0, [L.unlock(iovaLock(c.ioas), 'iommufd_access_pin_pages')], { pins: [...c.pins, { iova: l.iova, len: l.len, pfns }] });
    },
  },
  'pin.err': {
    description: 'iommufd_access_pin_pages() err_remove: iopt_area_remove_access() of the areas already added; up_read',
    uses: 'state',
    takes: (c, view) => partLock(c, view, 'done'),
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const lock: LockOp[] = [];
      for (const part of l.parts.slice(0, l.partIdx)) {
        const a = st.area(part.area);
        lock.push(L.lock(pagesMutex(a.p), 'iopt_area_remove_access'));
        removeAccess(st, a, iovaToIndex(a, part.from), iovaToIndex(a, part.to));
        lock.push(L.unlock(pagesMutex(a.p), 'iopt_area_remove_access'));
        st.itreeCheck(a.p);
      }
      lock.push(L.unlock(iovaLock(c.ioas), 'iommufd_access_pin_pages'));
      return end(c, k, l.rc, lock);
    },
  },
  'rw.run': {
    description: 'the driver reads or writes the pinned pages with the CPU (kmap, memcpy): coherent, no iommufd lock',
    to: ['idle'],
    run(c, k) {
      const o = current(c) as Extract<AccessOp, { op: 'rw' }>;
      const pin = c.pins.find((p) => p.iova <= o.iova && o.iova + o.len <= p.iova + p.len);
      if (!pin) return end(c, k, -22);
      k.st.use(c.id, 'iommufd_access_rw');
      for (let iova = o.iova; iova < o.iova + o.len; iova++) {
        const pfn = pin.pfns[iova - pin.iova];
        if (o.write) k.cache.cpuWrite(pfn, { by: c.id });
        else k.cache.cpuRead(pfn, { by: c.id });
      }
      return end(c, k, 0);
    },
  },
  'unpin.lock': {
    description: 'iommufd_access_unpin_pages(): down_read(iova_rwsem), the contiguous areas of the range',
    uses: 'state',
    takes: (c) => [{ lock: iovaLock(c.ioas), mode: 'read' }],
    to: ['unpin.remove', 'unpin.done'],
    run(c, k) {
      const l = loc(c);
      k.st.use(c.id, 'iommufd_access_unpin_pages');
      const { parts, lastArea, done } = contigAreas(k.st, c.ioas, l.iova, l.iova + l.len - 1);
      l.parts = parts;
      l.partIdx = 0;
      l.lastArea = lastArea;
      l.done = done;
      return { to: parts.length ? 'unpin.remove' : 'unpin.done', lock: [L.lock(iovaLock(c.ioas), 'iommufd_access_unpin_pages', 'read')] };
    },
  },
  'unpin.remove': {
    description: 'iopt_area_remove_access() under pages->mutex: the last user unpins what nothing else holds',
    takes: (c, view) => partLock(c, view, 'current'),
    to: ['unpin.remove', 'unpin.done', 'unpin.unlockEarly'],
    run(c, k) {
      const l = loc(c);
      const st = k.st;
      const part = l.parts[l.partIdx];
      const a = st.area(part.area);
      st.use(a.id, 'iommufd_access_unpin_pages');
      const mx = pagesMutex(a.p);
      removeAccess(st, a, iovaToIndex(a, part.from), iovaToIndex(a, part.to));
      l.partIdx++;
      const lock = [L.lock(mx, 'iopt_area_remove_access'), L.unlock(mx, 'iopt_area_remove_access')];
      if (l.partIdx < l.parts.length) return { to: 'unpin.remove', lock };
      return { to: k.g('contigDoneUnderLock') ? 'unpin.done' : 'unpin.unlockEarly', lock };
    },
  },
  'unpin.done': {
    description: 'WARN_ON(!iopt_area_contig_done()) under iova_rwsem (dbe245cdf518), then up_read',
    uses: 'state',
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      if (l.lastArea) k.st.use(l.lastArea, 'iopt_area_contig_done');
      if (!l.done) k.st.warn('iommufd_access_unpin_pages', `[${l.iova}, ${l.iova + l.len - 1}] not contiguous`);
      return end(c, k, 0, [L.unlock(iovaLock(c.ioas), 'iommufd_access_unpin_pages')], { pins: c.pins.filter((p) => !(p.iova === l.iova && p.len === l.len)) });
    },
  },
  'unpin.unlockEarly': {
    description: 'v6.2: up_read(iova_rwsem) before iopt_area_contig_done()',
    uses: 'state',
    to: ['unpin.contigLate'],
    run(c) {
      return { to: 'unpin.contigLate', lock: [L.unlock(iovaLock(c.ioas), 'iommufd_access_unpin_pages')] };
    },
  },
  'unpin.contigLate': {
    description: 'v6.2: iopt_area_contig_done() after the unlock dereferences an area a concurrent unmap may have freed',
    uses: 'state',
    to: ['idle'],
    run(c, k) {
      const l = loc(c);
      if (l.lastArea) k.st.use(l.lastArea, 'iopt_area_contig_done (after up_read)');
      return end(c, k, 0, [], { pins: c.pins.filter((p) => !(p.iova === l.iova && p.len === l.len)) });
    },
  },
  'destroy.run': {
    description: 'iommufd_access_destroy() -> iommufd_object_destroy_user(): destroy_rwsem W, xa_lock, users--, refcount_dec_if_one (WARN if not)',
    uses: 'state',
    takes: (c) => [{ lock: destroyRwsem(c.id) }, { lock: XA_LOCK }],
    to: ['destroy.ops', 'idle'],
    run(c, k) {
      const st = k.st;
      const o = st.s.objects[c.id];
      if (!o) return end(c, k, -2);
      st.use(c.id, 'iommufd_access_destroy');
      const lock: LockOp[] = [L.lock(destroyRwsem(c.id), 'iommufd_object_destroy_user'), L.lock(XA_LOCK, 'iommufd_object_destroy_user')];
      o.users--;
      const ok = o.users === 1 && !o.erased;
      if (ok) {
        o.users = 0;
        o.erased = true;
        st.journal(`obj:${c.id}`, -1);
      }
      st.obs('kernel-destroy', { obj: c.id, ok, users: o.users });
      lock.push(L.unlock(XA_LOCK, 'iommufd_object_destroy_user'), L.unlock(destroyRwsem(c.id), 'iommufd_object_destroy_user'));
      if (!ok) return end(c, k, -16, lock, { created: false });
      return { to: 'destroy.ops', lock };
    },
  },
  'destroy.ops': {
    description: 'iommufd_access_destroy_object(): iopt_remove_access (domains W + iova W), kfree',
    uses: 'state',
    takes: (c) => [{ lock: domainsLock(c.ioas) }, { lock: iovaLock(c.ioas) }],
    to: ['idle'],
    run(c, k) {
      const st = k.st;
      const io = st.iopt(c.ioas);
      const lock = [L.lock(domainsLock(c.ioas), 'iopt_remove_access'), L.lock(iovaLock(c.ioas), 'iopt_remove_access')];
      st.need(iovaLock(c.ioas), 'iopt->access_list');
      io.accessList = io.accessList.filter((a) => a !== c.id);
      lock.push(L.unlock(iovaLock(c.ioas), 'iopt_remove_access'), L.unlock(domainsLock(c.ioas), 'iopt_remove_access'));
      st.s.objects[c.id].destroyed = true;
      st.obs('free', { obj: c.id, by: 'iommufd_access_destroy_object' });
      return end(c, k, 0, lock, { created: false });
    },
  },
};

export const accessMachine = buildThread<C>({
  id: `${SYSTEM}.access`,
  steps,
  initial: 'idle',
  context: (input) => {
    const i = input as AccessInput;
    return { id: i.id, ops: i.ops, opIdx: 0, queue: [], ioas: 0, created: false, pins: [], maxPages: i.maxPages, rcs: [], held: [], opName: '', opStart: 0, l: {} };
  },
  messages: {
    // access->ops->unmap(): unpin every pin that overlaps, then return.
    NOTIFY_UNMAP: (c, e) => {
      const { iova, len, from } = e as unknown as { iova: number; len: number; from: string };
      const hit = c.pins.filter((p) => p.iova < iova + len && iova < p.iova + p.len);
      return { set: { queue: [...c.queue, ...hit.map((p) => ({ op: 'notifyUnpin' as const, iova: p.iova, len: p.len })), { op: 'reply' as const, to: from }] } };
    },
  },
  groups: {
    create: 'iommufd_access_create',
    pin: 'iommufd_access_pin_pages',
    rw: 'the driver touches pinned pages',
    unpin: 'iommufd_access_unpin_pages (also from the unmap callback)',
    destroy: 'iommufd_access_destroy',
  },
});

export const accessKind = defineKind(
  threadKind<C>({
    kind: `${SYSTEM}.access`,
    machine: accessMachine,
    steps,
    // The unmap callback runs when the driver is between kAPI calls (it holds no lock then).
    accepts: (c, path, e: EventObject) => e.type !== 'NOTIFY_UNMAP' || (path === 'idle' && c.held.length === 0),
  }) as Parameters<typeof defineKind>[0],
);
