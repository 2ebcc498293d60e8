/**
 * A user's own system, complete: a refcounted object in a table, looked up by reader threads and
 * removed by a remover thread (the kref pattern: lookup and kref_get under the table lock,
 * kref_put outside it). docs/own-system.md walks through it line by line.
 *
 *   npx pagerace explore ./examples/refcount/scenario.ts --runs 500
 *   npx pagerace explore ./examples/refcount/scenario.ts --bug get-after-unlock --runs 500
 *
 * It uses only the package's public API (`import ... from 'pagerace'`), exactly as a module in
 * your own repository would.
 */
import { setup } from 'xstate';
import { type SharedPort, type SharedState, defineKind, defineScenario, effectActions, guard, lockdep, stateful } from 'pagerace';

// ---- Shared state: the object and its table slot, touched directly by the threads' steps. ----

export const TABLE = 'refcount.table';
const TABLE_LOCK = 'table->lock';

interface TableData {
  /** Still reachable from the table (lookups find it). */
  linked: boolean;
  refs: number;
  freed: boolean;
}

/** The table and its one object: kref_get, kref_put (freeing at zero), unlink. */
export class Table implements SharedState {
  readonly name = TABLE;
  private d: TableData = { linked: true, refs: 1, freed: false };
  private port: SharedPort | null = null;

  connect(port: SharedPort): void {
    this.port = port;
  }
  lookup(): boolean {
    return this.d.linked;
  }
  get(path: string): void {
    this.port?.observe({ what: 'obj-get', obj: 'obj', freed: this.d.freed, path });
    this.d.refs++;
  }
  put(path: string): void {
    this.port?.observe({ what: 'obj-put', obj: 'obj', freed: this.d.freed, path });
    if (--this.d.refs === 0) {
      this.d.freed = true;
      this.port?.observe({ what: 'obj-free', obj: 'obj', path });
    }
  }
  use(path: string): void {
    this.port?.observe({ what: 'obj-use', obj: 'obj', freed: this.d.freed, path });
  }
  unlink(): void {
    this.d.linked = false;
  }
  snapshot(): TableData {
    return { ...this.d };
  }
  restore(s: unknown): void {
    this.d = { ...(s as TableData) };
  }
  view(): TableData {
    return { ...this.d };
  }
}

// ---- A reader: look up the object, take a reference, drop the lock, use it, put it. ----

type ReaderEvent = { type: 'LOCK' } | { type: 'LOOKUP'; found?: boolean } | { type: 'UNLOCK' } | { type: 'GET' } | { type: 'USE' } | { type: 'PUT' };

const readerMachine = setup({
  types: { context: {} as { id: string }, events: {} as ReaderEvent, input: {} as { id: string } },
  actions: { ...effectActions },
  guards: {
    // The fix: kref_get while the table lock still protects the object. The variant substitutes it.
    getUnderLock: () => true,
    found: ({ event }) => event.type === 'LOOKUP' && event.found === true,
  },
}).createMachine({
  id: 'refcount.reader',
  context: ({ input }) => ({ id: input.id }),
  initial: 'idle',
  states: {
    idle: { on: { LOCK: { target: 'locked', actions: { type: 'lock', params: { lock: TABLE_LOCK, path: 'obj_lookup' } } } } },
    locked: {
      on: {
        LOOKUP: [
          { guard: { type: 'found' }, target: 'found' },
          { target: 'missing' },
        ],
      },
    },
    // found: with getUnderLock the reference was taken in the LOOKUP step itself (see prepare).
    found: { on: { UNLOCK: [{ guard: 'getUnderLock', target: 'using', actions: { type: 'unlock', params: { lock: TABLE_LOCK, path: 'obj_lookup' } } }, { target: 'unreferenced', actions: { type: 'unlock', params: { lock: TABLE_LOCK, path: 'obj_lookup' } } }] } },
    unreferenced: { on: { GET: 'using' } },
    missing: { on: { UNLOCK: { target: 'done', actions: { type: 'unlock', params: { lock: TABLE_LOCK, path: 'obj_lookup' } } } } },
    using: { on: { USE: 'used' } },
    used: { on: { PUT: 'done' } },
    done: { type: 'final' },
  },
});

const readerKind = defineKind({
  kind: 'refcount.reader',
  machine: readerMachine,
  offers(snap, view) {
    const next: Record<string, ReaderEvent['type']> = { locked: 'LOOKUP', found: 'UNLOCK', missing: 'UNLOCK', unreferenced: 'GET', using: 'USE', used: 'PUT' };
    if (snap.value === 'idle') return view.canTake(TABLE_LOCK) ? [{ event: { type: 'LOCK' } }] : [];
    const type = next[snap.value as string];
    return type ? [{ event: { type } }] : [];
  },
  prepare(snap, event, ports) {
    const table = ports.shared<Table>(TABLE);
    if (event.type === 'LOOKUP') {
      const found = table.lookup();
      if (found && guard(snap, 'getUnderLock')) table.get('obj_lookup');
      return { ...event, found };
    }
    if (event.type === 'GET') table.get('obj_get');
    if (event.type === 'USE') table.use('obj_use');
    if (event.type === 'PUT') table.put('obj_put');
    return event;
  },
  footprint(_snap, event) {
    return event.type === 'LOCK' || event.type === 'UNLOCK' ? { locks: [TABLE_LOCK] } : { reads: [TABLE], writes: [TABLE] };
  },
});

// ---- The remover: unlink under the lock, then drop the table's reference. ----

type RemoverEvent = { type: 'LOCK' } | { type: 'UNLINK' } | { type: 'UNLOCK' } | { type: 'PUT' };

const removerMachine = setup({
  types: { context: {} as { id: string }, events: {} as RemoverEvent, input: {} as { id: string } },
  actions: { ...effectActions },
}).createMachine({
  id: 'refcount.remover',
  context: ({ input }) => ({ id: input.id }),
  initial: 'idle',
  states: {
    idle: { on: { LOCK: { target: 'locked', actions: { type: 'lock', params: { lock: TABLE_LOCK, path: 'obj_remove' } } } } },
    locked: { on: { UNLINK: 'unlinked' } },
    unlinked: { on: { UNLOCK: { target: 'unlocked', actions: { type: 'unlock', params: { lock: TABLE_LOCK, path: 'obj_remove' } } } } },
    unlocked: { on: { PUT: 'done' } },
    done: { type: 'final' },
  },
});

const removerKind = defineKind({
  kind: 'refcount.remover',
  machine: removerMachine,
  offers(snap, view) {
    const next: Record<string, RemoverEvent['type']> = { locked: 'UNLINK', unlinked: 'UNLOCK', unlocked: 'PUT' };
    if (snap.value === 'idle') return view.canTake(TABLE_LOCK) ? [{ event: { type: 'LOCK' } }] : [];
    const type = next[snap.value as string];
    return type ? [{ event: { type } }] : [];
  },
  prepare(_snap, event, ports) {
    const table = ports.shared<Table>(TABLE);
    if (event.type === 'UNLINK') table.unlink();
    if (event.type === 'PUT') table.put('obj_remove');
    return event;
  },
  footprint(_snap, event) {
    return event.type === 'LOCK' || event.type === 'UNLOCK' ? { locks: [TABLE_LOCK] } : { reads: [TABLE], writes: [TABLE] };
  },
});

// ---- Monitors: a safety one (no touch after free) and a liveness one (no leak at the end). ----

const noUseAfterFree = {
  name: 'no-use-after-free',
  description: 'nobody gets, uses or puts the object after it was freed',
  kind: 'safety' as const,
  observes: ['obs:obj-get', 'obs:obj-use', 'obs:obj-put'],
  create: () =>
    stateful({}, {
      onStep(_st, rec) {
        const o = rec.obs.find((x) => x.what !== 'obj-free' && x.freed === true);
        return o ? { message: `${o.actor} ${String(o.what).slice(4)}s the object in ${String(o.path)} after it was freed`, actors: [o.actor], messages: [] } : null;
      },
    }),
};

const freedAtEnd = {
  name: 'freed-at-end',
  description: 'when every thread is done, the object has been freed (no reference leaked)',
  kind: 'liveness' as const,
  observes: ['obs:obj-free'],
  create: () =>
    stateful(
      { freed: false },
      {
        onStep(st, rec) {
          if (rec.obs.some((x) => x.what === 'obj-free')) st.freed = true;
          return null;
        },
        atQuiescence(st) {
          return st.freed ? null : { message: 'every thread finished but the object was never freed: a reference leaked', actors: [], messages: [] };
        },
      },
    ),
};

// ---- The scenario: parameters, topology, monitors and the variant. ----

export default defineScenario({
  name: 'refcount',
  description: 'a refcounted object: readers look it up and take a reference, a remover unlinks it and drops the table reference',
  parameters: [{ name: 'readers', description: 'reader threads', type: 'int', default: 2, min: 1, max: 8 }],
  bugs: [
    {
      name: 'get-after-unlock',
      summary: 'the reader drops the table lock before kref_get: the remover can unlink and free the object in between',
      reference: 'the classic kref rule (Documentation/core-api/kref.rst: "get under the lock that protects the lookup")',
      caughtBy: ['no-use-after-free'],
      provide: { 'refcount.reader': { guards: { getUnderLock: () => false } } },
    },
  ],
  monitors: [lockdep, noUseAfterFree, freedAtEnd],
  build(p) {
    const readers = [...Array(Number(p.readers)).keys()].map((i) => ({ id: `reader${i}`, kind: readerKind, input: { id: `reader${i}` } }));
    return {
      actors: [...readers, { id: 'remover', kind: removerKind, input: { id: 'remover' } }],
      locks: [{ name: TABLE_LOCK, kind: 'spinlock' }],
      shared: () => ({ states: [new Table()] }),
    };
  },
  stepEstimate: (p) => 6 * Number(p.readers) + 4,
});
