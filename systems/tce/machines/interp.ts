/**
 * The path interpreter every TCE thread machine is built from.
 *
 * A kernel thread of control (a VMM thread in an ioctl, a vCPU in an hcall, the host driver, the
 * device) runs *paths* (one per ioctl/hcall/operation) over shared state, one step at a time. Each
 * path is a compound state of the machine whose children are its step labels, with a transition
 * for every declared successor, so the statechart shows each path's step graph. A step's work is
 * a plain function over the shared state (`run`), executed in the kind's `prepare` (the only place
 * shared state is touched); it reports the next label, the locks it takes and drops, and what it
 * observed, all carried in the event, and the machine's one action (`apply`) takes the new context
 * and enqueues those effects. A step needing a lock is offered only when it can take it.
 *
 * Variants substitute behaviour through the machine's named guards: each is a constant in the
 * fixed machine (the kernel today, or the corrected order where the kernel is found wrong) and
 * `run` reads it with `x.g(name)` (core/model/kind.ts `guard`), so `machine.provide` of a guard
 * changes what the thread does and no code tests a bug name.
 */
import { enqueueActions, setup, type AnyStateMachine } from 'xstate';
import { effectActions } from '../../../core/model/effects.ts';
import { defineKind, guard, type ActorKind, type DataPort, type Footprint, type Offer } from '../../../core/model/kind.ts';
import type { LockMode } from '../../../core/model/locks.ts';
import type { Params } from '../../../core/model/scenario.ts';
import type { TceObservations, TceObs } from '../observations.ts';
import { Facets, type FacetName } from '../state/index.ts';
import type { Op } from '../workload.ts';

// Path frames are JSON-able records of the path's locals (the kernel function's stack variables).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

export interface ThreadCtx {
  id: string;
  ops: Op[];
  /** Index of the next operation. */
  next: number;
  path: string | null;
  label: string;
  f: Frame;
  /** Locks this thread holds, in acquisition order (mirrors the lock table). */
  held: string[];
  done: boolean;
  /** Static configuration of the thread (which path family runs an op, the ownership protocol). */
  cfg: Record<string, string>;
  /** Return value of each finished operation. */
  rets: number[];
  /** Costs (not in the hash): kills, kmallocs, gups, lock-hold steps by path and lock. */
  stats: Record<string, number>;
}

export interface LockNeed {
  lock: string;
  mode?: LockMode;
}

export interface StepDef {
  /** Labels of this path the step may go to next; 'exit' returns from the path. */
  next: readonly string[];
  /** The kernel function (file and version are in the path's doc): named in lock and observation reports. */
  fn: string;
  /** Locks the step takes (it is offered only when every one can be taken). */
  needs?: (c: ThreadCtx, S: Facets) => LockNeed[];
  /** Shared-state pieces this step touches when narrower than its path's (a mid-path step's footprint). */
  facets?: readonly FacetName[];
  run: (x: Exec) => void;
}

export interface PathDef {
  /** The step run by NEXT_OP (the path's first step). */
  entry: string;
  steps: Record<string, StepDef>;
  /** Shared-state pieces the path may read or write (its footprint). */
  facets: readonly FacetName[];
  /** Every lock a step of the path may take (its footprint; a superset is fine). */
  locks: readonly string[];
  /** Of `facets`, the pieces the path only reads (not in its footprint's writes). */
  readOnly?: readonly FacetName[];
}

export interface ProgramDef {
  kind: string;
  paths: Record<string, PathDef>;
  /** Named behaviours a variant substitutes; the value is the fixed model's. */
  guards: Record<string, boolean>;
  pathOf(op: Op, c: ThreadCtx): string;
  /** Whether the next operation may start now (e.g. release waits for the other threads to close). */
  ready?(c: ThreadCtx, S: Facets): boolean;
  /** Facets `ready` reads. */
  readyFacets?: readonly FacetName[];
  /** Record in tce.container when the thread has run all its operations (VMM and vCPU threads). */
  finishes?: boolean;
}

export interface Effect {
  type: 'lock' | 'unlock' | 'observe';
  params: Record<string, unknown>;
}

/** The execution of one step: the thread's context (a copy), the shared state, data draws, effects. */
export class Exec {
  readonly effects: Effect[] = [];
  readonly inc: Record<string, number> = {};
  to: string | null = null;
  ret = 0;

  constructor(
    readonly c: ThreadCtx,
    readonly S: Facets,
    readonly data: DataPort,
    readonly params: Params,
    private readonly snap: { machine: AnyStateMachine; context: unknown },
    readonly step: StepDef,
  ) {}

  get f(): Frame {
    return this.c.f;
  }

  get self(): string {
    return this.c.id;
  }

  /** Where this step is, for lock and observation reports: "tce_iommu_build (map.xchg)". */
  get where(): string {
    return `${this.step.fn} (${this.c.path}.${this.c.label})`;
  }

  /** A named, variant-substitutable behaviour of this machine. */
  g(name: string): boolean {
    return guard(this.snap, name);
  }

  p(name: string): number {
    return Number(this.params[name]);
  }

  lock(lock: string, mode: LockMode = 'write'): void {
    this.effects.push({ type: 'lock', params: { lock, path: this.where, mode } });
    this.c.held.push(lock);
  }

  unlock(lock: string): void {
    const i = this.c.held.lastIndexOf(lock);
    if (i < 0) throw new Error(`${this.self} unlocks ${lock}, which it does not hold (${this.where})`);
    this.c.held.splice(i, 1);
    this.effects.push({ type: 'unlock', params: { lock, path: this.where } });
  }

  /** Take and drop `lock` within the step (a lock held only inside one call, e.g. mmap_lock in account_locked_vm). */
  inside(lock: string, mode: LockMode = 'write'): void {
    this.lock(lock, mode);
    this.unlock(lock);
  }

  obs<K extends TceObs>(what: K, fields: TceObservations[K]): void {
    this.effects.push({ type: 'observe', params: { what, ...fields } });
  }

  /** The step may sleep (GFP_KERNEL allocation, a mutex, GUP's slow path): lockdep checks no spinlock is held. */
  sleeps(what: string): void {
    this.obs('might-sleep', { path: `${this.where}: ${what}` });
  }

  /** The step touches user memory (get_user): lockdep's might_fault. */
  faults(what: string): void {
    this.obs('might-fault', { path: `${this.where}: ${what}` });
  }

  /** An injected failure at `site` (an allocation, GUP, the RLIMIT_MEMLOCK check), drawn per thread. */
  fails(site: string, rate: number): boolean {
    return this.data.fault(`${site}:${this.self}`, rate);
  }

  count(stat: string, n = 1): void {
    this.inc[stat] = (this.inc[stat] ?? 0) + n;
  }

  go(label: string): void {
    this.to = label;
  }

  exit(ret: number): void {
    this.to = 'exit';
    this.ret = ret;
  }
}

interface StepEvent {
  type: 'STEP' | 'NEXT_OP';
  to?: string;
  patch?: Omit<ThreadCtx, 'id' | 'ops' | 'stats' | 'cfg'>;
  inc?: Record<string, number>;
  effects?: Effect[];
}

export interface ThreadInput {
  id: string;
  ops: Op[];
  cfg?: Record<string, string>;
}

/** The machine of a program: idle, done, and one compound state per path with a child per step label. */
export function threadMachine(def: ProgramDef) {
  const guards: Record<string, unknown> = {
    to: ({ event }: { event: StepEvent }, params: { to: string }) => event.to === params.to,
  };
  for (const [n, v] of Object.entries(def.guards)) guards[n] = () => v;
  // Guards compare the event's `to` ("path.label", "idle" or "done") with the edge's.
  const edge = (to: string, target: string) => ({ guard: { type: 'to', params: { to } }, target, actions: 'apply' });
  const exits = () => [edge('idle', '#idle'), edge('done', '#done')];
  const targetsOf = (path: string, next: readonly string[], fromIdle: boolean) =>
    next.flatMap((n) => (n === 'exit' ? exits() : [edge(`${path}.${n}`, fromIdle ? `${path}.${n}` : n)]));
  const states: Record<string, unknown> = {};
  const nextOp: unknown[] = [];
  for (const [name, p] of Object.entries(def.paths)) {
    const targeted = new Set(Object.values(p.steps).flatMap((s) => s.next));
    for (const n of p.steps[p.entry].next) targeted.add(n);
    const children: Record<string, unknown> = {};
    for (const [label, s] of Object.entries(p.steps)) {
      if (!targeted.has(label)) continue;
      children[label] = { on: { STEP: targetsOf(name, s.next, false) } };
    }
    const first = Object.keys(children)[0];
    if (first) states[name] = { initial: first, states: children };
    for (const t of targetsOf(name, p.steps[p.entry].next, true)) if (!nextOp.some((x) => JSON.stringify(x) === JSON.stringify(t))) nextOp.push(t);
  }
  states.idle = { id: 'idle', on: { NEXT_OP: nextOp } };
  states.done = { id: 'done' };
  const machine = setup({
    types: { context: {} as ThreadCtx, events: {} as StepEvent, input: {} as ThreadInput },
    actions: {
      ...effectActions,
      apply: enqueueActions(({ context, event, enqueue }) => {
        const e = event as StepEvent;
        const stats = { ...context.stats };
        for (const [k, v] of Object.entries(e.inc ?? {})) stats[k] = (stats[k] ?? 0) + v;
        enqueue.assign({ ...context, ...e.patch, stats } as ThreadCtx);
        for (const ef of e.effects ?? []) enqueue({ type: ef.type, params: ef.params } as never);
      }),
    },
    // Named guards are built from the program's table.
    guards: guards as never,
  }).createMachine({
    id: def.kind,
    context: ({ input }) => ({ id: input.id, ops: input.ops, next: 0, path: null, label: '', f: {}, held: [], done: input.ops.length === 0, cfg: input.cfg ?? {}, rets: [], stats: {} }),
    initial: 'idle',
    states: states as never,
  });
  return machine as unknown as AnyStateMachine;
}

const facetsOf = (get: (n: FacetName) => unknown) => new Facets(get);

/** The actor kind of a program: offers, prepare (runs the step), footprint, canonical. */
export function threadKind(def: ProgramDef): ActorKind {
  const machine = threadMachine(def);
  const stepOf = (c: ThreadCtx): { path: PathDef; step: StepDef } | null => {
    if (c.done) return null;
    if (c.path === null) {
      if (c.next >= c.ops.length) return null;
      const path = def.paths[def.pathOf(c.ops[c.next], c)];
      return { path, step: path.steps[path.entry] };
    }
    const path = def.paths[c.path];
    return { path, step: path.steps[c.label] };
  };
  return defineKind({
    kind: def.kind,
    machine,
    offers(snap, view): Offer[] {
      const c = snap.context as ThreadCtx;
      const at = stepOf(c);
      if (!at) return [];
      const S = facetsOf((n) => view.shared(n));
      if (c.path === null && def.ready && !def.ready(c, S)) return [];
      for (const n of at.step.needs?.(c, S) ?? []) if (!view.canTake(n.lock, n.mode)) return [];
      if (c.path === null) return [{ event: { type: 'NEXT_OP' }, label: c.ops[c.next].op }];
      return [{ event: { type: 'STEP' }, label: c.label }];
    },
    prepare(snap, event, ports) {
      const c0 = snap.context as ThreadCtx;
      const at = stepOf(c0);
      if (!at) throw new Error(`${c0.id}: ${event.type} with nothing to run`);
      const { ops: _ops, stats: _stats, ...rest } = c0;
      const c: ThreadCtx = { ...structuredClone(rest), ops: c0.ops, stats: {} };
      if (c.path === null) {
        c.path = def.pathOf(c.ops[c.next], c);
        c.label = at.path.entry;
        c.f = { op: c.ops[c.next] };
      }
      const S = facetsOf((n) => ports.shared(n));
      const x = new Exec(c, S, ports.data, ports.params, snap, at.step);
      for (const l of c.held) x.count(`hold:${c.path}:${l.replace(/\[\d+\]/, '[]')}`);
      at.step.run(x);
      if (x.to === null) throw new Error(`${c.id}: step ${c.path}.${c.label} chose no successor`);
      if (!at.step.next.includes(x.to)) throw new Error(`${c.id}: step ${c.path}.${c.label} went to ${x.to}, not one of its declared successors ${at.step.next.join(', ')}`);
      let to = x.to;
      if (to === 'exit') {
        // RCU read-side sections live in tce.prereg: a path that does not declare it never entered one.
        const rcu = at.path.facets.includes('tce.prereg') ? (S.prereg.d.readers[c.id] ?? 0) : 0;
        x.obs('path-exit', { thread: c.id, path: c.path, ret: x.ret, rcu });
        c.rets.push(x.ret);
        c.path = null;
        c.label = '';
        c.f = {};
        c.next++;
        c.done = c.next >= c.ops.length;
        if (c.done && def.finishes) S.container.finish(c.id);
        to = c.done ? 'done' : 'idle';
      } else {
        c.label = to;
        to = `${c.path}.${to}`;
      }
      const { ops: _o, stats: _s, id: _i, cfg: _c, ...patch } = c;
      return { type: event.type, to, patch, inc: x.inc, effects: x.effects };
    },
    footprint(snap): Footprint {
      const c = snap.context as ThreadCtx;
      const at = stepOf(c);
      if (!at) return {};
      const locks = new Set<string>([...c.held, ...at.path.locks]);
      // A mid-path step may declare fewer pieces than its path (the first step, run by NEXT_OP,
      // keeps the path's). What ready() consults and the path's read-only pieces are reads; the
      // thread's last operation also writes tce.container (finish).
      const own = c.path !== null && at.step.facets ? at.step.facets : at.path.facets;
      const ro = new Set<string>(at.path.readOnly ?? []);
      const finishing = def.finishes && c.next >= c.ops.length - 1 ? ['tce.container'] : [];
      const writes = new Set<string>([...own.filter((n) => !ro.has(n)), ...finishing]);
      const reads = new Set<string>([...own, ...finishing, ...(c.path === null ? (def.readyFacets ?? []) : [])]);
      return { locks: [...locks], reads: [...reads], writes: [...writes] };
    },
    canonical(snap) {
      const { stats: _s, rets: _r, ops: _o, cfg: _c, ...rest } = snap.context as ThreadCtx;
      return [snap.value, rest];
    },
  }) as ActorKind;
}

