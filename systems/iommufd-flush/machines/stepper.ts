/**
 * Kernel threads as machines built from a table of steps. A thread runs a kernel path as a
 * sequence of steps; each step is one state of the machine (nested by path: `map.fillBegin` is
 * the state `fillBegin` inside `map`), and a step's outcome chooses the next state. The chart is
 * therefore the path's control flow, generated from the same table the steps run from.
 *
 * A step:
 *   - takes locks (it is offered only when `view.canTake` for each: a blocked thread waits);
 *   - runs in `prepare` over the shared state (state/*.ts) with the machine's named guards (which
 *     variants substitute) and the run's data draws; its outcome (next state, context updates,
 *     lock operations in order, messages) travels in the STEP event;
 *   - is applied by the pure transition: `apply` enqueues the lock/unlock/send effects and assigns.
 * The thread's stack (reader, batch, unfill cursor) is its context's `l`, cloned before a step
 * changes it, so snapshots stay exact.
 */
import { type AnyStateMachine, type EventObject, assign, enqueueActions, setup } from 'xstate';
import { effectActions, type SendParams } from '../../../core/model/effects.ts';
import { type ActorKind, type DataPort, type Footprint, type Offer, type WorldView, guard } from '../../../core/model/kind.ts';
import type { LockMode } from '../../../core/model/locks.ts';
import type { CpuCache } from '../../../kernel/cpuCache.ts';
import type { IommufdState } from '../state/iommufd.ts';
import { CACHE, STATE, pagesMutex } from '../types.ts';

export interface LockReq {
  lock: string;
  mode?: LockMode;
}

export interface LockOp {
  op: 'lock' | 'unlock';
  lock: string;
  mode?: LockMode;
  path: string;
}

export interface StepResult<C> {
  to: string;
  set?: Partial<C>;
  lock?: LockOp[];
  send?: SendParams[];
}

/** What a step's `run` sees besides its context. */
export interface Kit {
  st: IommufdState;
  cache: CpuCache;
  data: DataPort;
  params: Record<string, number | boolean | string>;
  self: string;
  /** A named guard of this machine (with the variant's substitutions). */
  g(name: string, facts?: Record<string, unknown>): boolean;
}

export interface StepSpec<C> {
  /** Locks the step takes; with a null view, a superset (for the footprint). */
  takes?(c: C, view: WorldView | null): LockReq[];
  /** Is the step enabled besides its locks (not waiting for a reply, work left)? */
  ready?(c: C, view: WorldView): boolean;
  run(c: C, k: Kit): StepResult<C>;
  /** Every state the step may go to (the chart's edges). */
  to: string[];
  description: string;
  /**
   * Which shared state the step touches (its footprint): by default both the iommufd state and
   * the CPU cache (most kernel steps advance the cache's clock through their observations).
   * 'state': the iommufd state only; the cache is barred while the step runs (a touch is a model
   * error, the run errors). 'cache': the CPU cache only (a user thread's load or store).
   */
  uses?: 'state' | 'cache';
}

export interface ThreadContext {
  id: string;
  held: string[];
  /** The ioctl running ('' when idle) and the cache tick it began at. */
  opName: string;
  opStart: number;
  /** The running path's locals (its stack). */
  l: Record<string, unknown>;
}

export type StepTable<C> = Record<string, StepSpec<C>>;

/** A leaf state's id: xstate reads dots in a `#id` target as a path, so the id has none. */
function leafId(machineId: string, path: string): string {
  return `${machineId.replace(/\./g, ':')}:${path.replace(/\./g, '/')}`;
}

/** The machine's current leaf path ("idle", "map.fillBegin"). */
export function leafPath(value: unknown): string {
  if (typeof value === 'string') return value;
  const [k, v] = Object.entries(value as Record<string, unknown>)[0];
  return `${k}.${leafPath(v)}`;
}

const factsOf = (e: EventObject) => ((e as { f?: Record<string, unknown> }).f ?? {}) as Record<string, unknown>;

/**
 * The named guards a kernel thread's machine offers for substitution. Defaults are the fixed
 * model: the flush decisions follow the policy (`wants`), the kernel fixes are in.
 */
export const kernelGuards = {
  /** H-fill: flush this pfn before mapping it (default: what the policy wants). */
  fillFlushNeeded: ({ event }: { event: EventObject }) => Boolean(factsOf(event).wants),
  /** H-unmap / H-storage: flush this pfn after unmapping it. */
  unmapFlushNeeded: ({ event }: { event: EventObject }) => Boolean(factsOf(event).wants),
  /** H-unpin: flush this pfn before unpinning it. */
  unpinFlushNeeded: ({ event }: { event: EventObject }) => Boolean(factsOf(event).wants),
  /** b7c822fa6b77: batch_clear_carry() leaves end = 1. */
  carryKeepsEnd: () => true,
  /** 727c28c1cef2: batch_last_index = start_index + total_pfns - 1. */
  unpinLastFromStartIndex: () => true,
  /** e7250ab7ca49: iopt_area_split() moves pages_node from the area to lhs and rhs. */
  splitUpdatesItree: () => true,
  /** 804ca14d04df: the unmap takes the area's length before dropping the locks and never reads the area after. */
  lengthBeforeUnlock: () => true,
  /** 99f98a7c0d69 reverted: IOMMU_DESTROY takes a users reference (get_object, keep, destroy_user). */
  destroyTakesRef: () => false,
  /** storage-hint: the handover of storage_domain updates the hint. */
  repointUpdatesHint: () => true,
  /** Derived fix: iopt_area_fill_domains' error path unmaps the domains before releasing the reader's pins. */
  releasePinsAfterUnmap: () => true,
  /** dbe245cdf518: iommufd_access_unpin_pages() calls iopt_area_contig_done() under iova_rwsem. */
  contigDoneUnderLock: () => true,
};

export interface MessageHandler<C> {
  /** Context updates and messages for a delivered event (pure). */
  (c: C, e: EventObject): { set?: Partial<C>; send?: SendParams[] };
}

export function buildThread<C extends ThreadContext>(opts: {
  id: string;
  steps: StepTable<C>;
  initial: string;
  context: (input: unknown) => C;
  messages?: Record<string, MessageHandler<C>>;
  /** State descriptions of the compound (op) states. */
  groups?: Record<string, string>;
}): AnyStateMachine {
  const m = setup({
    actions: {
      ...effectActions,
      apply: enqueueActions(({ context, event, enqueue }) => {
        const r = (event as unknown as { r: StepResult<C> }).r;
        const held = [...(context as C).held];
        for (const op of r.lock ?? []) {
          if (op.op === 'lock') {
            enqueue({ type: 'lock', params: { lock: op.lock, path: op.path, mode: op.mode } });
            held.push(op.lock);
          } else {
            enqueue({ type: 'unlock', params: { lock: op.lock, path: op.path } });
            const i = held.lastIndexOf(op.lock);
            if (i >= 0) held.splice(i, 1);
          }
        }
        for (const s of r.send ?? []) enqueue({ type: 'send', params: s });
        enqueue(assign({ ...(r.set ?? {}), held } as never));
      }),
      message: enqueueActions(({ context, event, enqueue }) => {
        const h = opts.messages?.[event.type];
        if (!h) return;
        const out = h(context as C, event);
        for (const s of out.send ?? []) enqueue({ type: 'send', params: s });
        if (out.set) enqueue(assign(out.set as never));
      }),
    },
    guards: {
      ...kernelGuards,
      goesTo: ({ event }, params: unknown) => (event as unknown as { r?: StepResult<C> }).r?.to === (params as { to: string }).to,
    },
  });
  const root: Record<string, unknown> = {};
  for (const [path, spec] of Object.entries(opts.steps)) {
    const parts = path.split('.');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const g = (node[parts[i]] ??= { states: {} as Record<string, unknown> }) as { states: Record<string, unknown>; initial?: string; description?: string };
      g.initial ??= parts[i + 1];
      if (opts.groups?.[parts.slice(0, i + 1).join('.')]) g.description = opts.groups[parts.slice(0, i + 1).join('.')];
      node = g.states;
    }
    node[parts[parts.length - 1]] = {
      id: leafId(opts.id, path),
      description: spec.description,
      on: { STEP: spec.to.map((t) => ({ guard: { type: 'goesTo', params: { to: t } }, target: `#${leafId(opts.id, t)}`, actions: 'apply' })) },
    };
  }
  const on: Record<string, unknown> = {};
  for (const type of Object.keys(opts.messages ?? {})) on[type] = { actions: 'message' };
  return m.createMachine({
    id: opts.id,
    context: ({ input }: { input: unknown }) => opts.context(input) as never,
    initial: opts.initial,
    on,
    states: root,
  } as never) as unknown as AnyStateMachine;
}

/** Offers, prepare and footprint of a thread built by `buildThread`. */
export function threadKind<C extends ThreadContext>(opts: {
  kind: string;
  machine: AnyStateMachine;
  steps: StepTable<C>;
  accepts?(c: C, path: string, e: EventObject): boolean;
  /** Footprint of a delivered message (default: the actor alone). */
  messageFootprint?(c: C, e: EventObject): Footprint;
}): ActorKind {
  const spec = (value: unknown) => opts.steps[leafPath(value)];
  return {
    kind: opts.kind,
    machine: opts.machine,
    offers(snap, view): Offer[] {
      const c = snap.context as C;
      const path = leafPath(snap.value);
      const s = opts.steps[path];
      if (!s) return [];
      if (s.ready && !s.ready(c, view)) return [];
      for (const l of s.takes?.(c, view) ?? []) if (!view.canTake(l.lock, l.mode)) return [];
      return [{ event: { type: 'STEP' }, label: path }];
    },
    accepts(snap, event) {
      return opts.accepts ? opts.accepts(snap.context as C, leafPath(snap.value), event) : true;
    },
    prepare(snap, event, ports, self) {
      if (event.type !== 'STEP') return event;
      const s = spec(snap.value);
      const c0 = snap.context as C;
      const c = { ...c0, l: structuredClone(c0.l) } as C;
      const g = (name: string, facts?: Record<string, unknown>) => guard(snap, name, { type: 'facts', f: facts } as EventObject);
      const barred = (what: string) => (): never => {
        throw new Error(`step ${self}.${leafPath(snap.value)} touched the ${what}, which its footprint (uses: ${s.uses}) does not declare`);
      };
      if (s.uses === 'cache') {
        // A user thread: no kernel state, no lock.
        const cache = ports.shared<CpuCache>(CACHE);
        const kit = { cache, data: ports.data, params: ports.params, self, g } as Kit;
        Object.defineProperty(kit, 'st', { get: barred('iommufd state') });
        const r = s.run(c, kit);
        return { type: 'STEP', r: { ...r, set: { l: c.l, ...(r.set ?? {}) } } };
      }
      const st = ports.shared<IommufdState>(STATE);
      // The locks this step takes, found as `offers` found them (the shared state is the view).
      const view: WorldView = { canTake: (l, m) => st.canTake(l, m ?? 'write'), shared: <T>(n: string) => ports.shared<T>(n) };
      const takes = (s.takes?.(c, view) ?? []).map((l) => l.lock);
      const noCache = s.uses === 'state';
      st.begin({ actor: self, g, data: ports.data, op: c.opName, opStart: c.opStart, noCache }, takes);
      let r: StepResult<C>;
      try {
        const kit = { st, data: ports.data, params: ports.params, self, g } as Kit;
        if (noCache) Object.defineProperty(kit, 'cache', { get: barred('CPU cache') });
        else kit.cache = ports.shared<CpuCache>(CACHE);
        r = s.run(c, kit);
        // Every release of a pages->mutex is where the domains_itree must be consistent.
        for (const op of r.lock ?? []) if (op.op === 'unlock' && op.lock.endsWith('.mutex') && st.s.pages[op.lock.slice(0, -'.mutex'.length)]) st.itreeCheck(op.lock.slice(0, -'.mutex'.length));
      } finally {
        st.end();
      }
      return { type: 'STEP', r: { ...r, set: { l: c.l, ...(r.set ?? {}) } } };
    },
    footprint(snap, event): Footprint {
      const c = snap.context as C;
      if (event.type !== 'STEP') return opts.messageFootprint?.(c, event) ?? {};
      const s = spec(snap.value);
      const locks = new Set<string>([...c.held, ...(s?.takes?.(c, null) ?? []).map((l) => l.lock)]);
      const touches = s?.uses === 'state' ? [STATE] : s?.uses === 'cache' ? [CACHE] : [STATE, CACHE];
      return { locks: [...locks], reads: touches, writes: touches };
    },
  };
}

/** Lock-op helpers. */
export const L = {
  lock: (lock: string, path: string, mode?: LockMode): LockOp => ({ op: 'lock', lock, path, ...(mode ? { mode } : {}) }),
  unlock: (lock: string, path: string): LockOp => ({ op: 'unlock', lock, path }),
};

/** All pages mutexes the run declares (the footprint of a step that finds its P in shared state). */
export function allPagesMutexes(maxPages: number): LockReq[] {
  return [...Array(maxPages).keys()].map((i) => ({ lock: pagesMutex(`P${i}`) }));
}

/** A userspace op (signal/wait/touch) can run now: a wait needs its flag signalled. */
export function userReady(o: { op: string; flag?: string }, view: WorldView): boolean {
  if (o.op !== 'wait') return true;
  return view.shared<IommufdState>(STATE).s.userFlags.includes(o.flag!);
}

/** Run a userspace op: a signal sets its flag; a touch loads or stores the user's pages. */
export function userOp(self: string, o: { op: string; flag?: string; uptr?: number; len?: number; write?: boolean }, k: Kit): Record<string, never> {
  if (o.op === 'signal' && !k.st.s.userFlags.includes(o.flag!)) k.st.s.userFlags = [...k.st.s.userFlags, o.flag!];
  if (o.op === 'touch') {
    for (let u = o.uptr!; u < o.uptr! + o.len!; u++) {
      const pfn = k.st.userPfn(u);
      if (o.write) k.cache.cpuWrite(pfn, { by: self, uptr: u });
      else k.cache.cpuRead(pfn, { by: self, uptr: u });
    }
  }
  return {};
}
