/**
 * The fast engine against xstate's engine, feature by feature, on small machines: after every
 * event both engines must report the same effects in the same order (named effects, delayed
 * events, cancels) and the same snapshot (state, status, context). Plus: what the compiler
 * refuses, the fallback to xstate, variant substitution, and the snapshot API.
 */
import { describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, type AnyStateMachine, type EventObject, and, assign, cancel, createMachine, emit, enqueueActions, log, not, or, raise, setup, stateIn } from 'xstate';
import type { ActorEngine, EffectSink } from '../../../core/engine/engine.ts';
import { xstateEngine } from '../../../core/engine/xstate.ts';
import { UnsupportedFeature, compileMachine } from '../../../core/fast/compile.ts';
import { fastEngine, strictFastEngine } from '../../../core/fast/engine.ts';
import { FastSnapshot } from '../../../core/fast/snapshot.ts';
import { effectActions } from '../../../core/model/effects.ts';

type Effect = unknown[];

function recorder(out: Effect[]): EffectSink {
  return {
    effect: (actor, type, params) => out.push(['effect', actor, type, structuredClone(params)]),
    delay: (actor, id, delay, event) => out.push(['delay', actor, id, delay, structuredClone(event)]),
    cancel: (actor, id) => out.push(['cancel', actor, id]),
  };
}

const view = (s: AnyMachineSnapshot) => ({ value: s.value, status: s.status, context: structuredClone(s.context) });

/** Start and feed events, recording after each: effects, snapshot, or the error's message. */
function drive(engine: ActorEngine, machine: AnyStateMachine, input: unknown, events: EventObject[]): unknown[] {
  const log: unknown[] = [];
  const effects: Effect[] = [];
  const sink = recorder(effects);
  let snap: AnyMachineSnapshot;
  try {
    snap = engine.start(machine, 'a', input, sink);
  } catch (e) {
    return [['start error', (e as Error).message]];
  }
  log.push(['start', effects.splice(0), view(snap)]);
  for (const ev of events) {
    try {
      snap = engine.step(machine, 'a', snap, ev, sink);
      log.push([ev.type, effects.splice(0), view(snap)]);
    } catch (e) {
      log.push([ev.type, 'error', (e as Error).message.split('\n')[0]]);
      break;
    }
  }
  return log;
}

function same(machine: AnyStateMachine, events: EventObject[], input?: unknown): unknown[] {
  expect(compileMachine(machine)).toBeTruthy(); // compiles: the fast engine really runs it
  const x = drive(xstateEngine, machine, input, events);
  const f = drive(strictFastEngine, machine, input, events);
  expect(f).toEqual(x);
  return x;
}

const ev = (type: string, extra: Record<string, unknown> = {}): EventObject => ({ type, ...extra });

describe('fast engine, feature by feature against xstate', () => {
  it('always: chains of eventless transitions, targetless ones that assign until their guard fails, after every event', () => {
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.always',
      context: { n: 0, log: [] as string[] },
      initial: 'a',
      states: {
        a: {
          always: [{ guard: ({ context }) => context.n < 3, actions: assign({ n: ({ context }) => context.n + 1 }) }, { guard: ({ context }) => context.n === 3, target: 'b' }],
          on: { GO: { actions: assign({ n: 10 }) } },
        },
        b: {
          entry: { type: 'observe', params: ({ context }) => ({ what: 'enter-b', n: context.n }) },
          always: { guard: ({ context }) => context.n > 5, target: 'c', actions: { type: 'send', params: { to: 'x', type: 'T', payload: {} } } },
          on: { BUMP: { actions: assign({ n: ({ context }) => context.n + 3 }) }, NOOP: {} },
        },
        c: { always: { target: 'b', guard: ({ context }) => context.n > 100 } },
      },
    });
    const out = same(m, [ev('NOOP'), ev('BUMP'), ev('UNKNOWN'), ev('GO')]);
    expect((out[0] as unknown[])[2]).toMatchObject({ value: 'b', context: { n: 3 } });
  });

  it('an always transition that changes nothing stops the eventless loop (xstate: same snapshot)', () => {
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.stable',
      context: { k: 0 },
      initial: 'a',
      states: {
        a: {
          always: { actions: { type: 'observe', params: { what: 'tick' } } },
          on: { E: { actions: assign({ k: ({ context }) => context.k + 1 }) } },
        },
      },
    });
    same(m, [ev('E'), ev('E')]);
  });

  it('after: named, numeric and computed delays, cancelled on leaving, raised then cancelled when always leaves at once', () => {
    const m = setup({
      types: { context: {} as { d: number; skip: boolean }, input: {} as { d: number; skip: boolean } },
      actions: { ...effectActions },
      delays: { think: 2, dyn: ({ context }) => context.d },
    }).createMachine({
      id: 't.after',
      context: ({ input }) => ({ d: input.d, skip: input.skip }),
      initial: 'wait',
      states: {
        wait: {
          always: { guard: ({ context }) => context.skip, target: 'done' },
          after: { think: 'ready', 7: { target: 'late', actions: { type: 'observe', params: { what: 'late' } } }, dyn: { guard: ({ context }) => context.d > 1, target: 'dyn' } },
        },
        ready: { on: { AGAIN: 'wait', SKIP: { actions: assign({ skip: true }) } } },
        late: {},
        dyn: {},
        done: { type: 'final' },
      },
    });
    same(m, [ev('xstate.after.think.t.after.wait'), ev('AGAIN'), ev('xstate.after.dyn.t.after.wait')], { d: 3, skip: false });
    same(m, [ev('xstate.after.7.t.after.wait')], { d: 1, skip: false });
    same(m, [], { d: 1, skip: true });
  });

  it('final states: entry, then the final state and root exit actions; events afterwards change nothing', () => {
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.final',
      initial: 'a',
      entry: { type: 'observe', params: { what: 'root-entry' } },
      exit: { type: 'observe', params: { what: 'root-exit' } },
      states: {
        a: { exit: { type: 'observe', params: { what: 'a-exit' } }, on: { END: { target: 'end', actions: { type: 'observe', params: { what: 'end-tr' } } } } },
        end: { type: 'final', entry: { type: 'observe', params: { what: 'end-entry' } }, exit: { type: 'observe', params: { what: 'end-exit' } } },
      },
      on: { PING: { actions: { type: 'observe', params: { what: 'ping' } } } },
    });
    same(m, [ev('PING'), ev('END'), ev('PING'), ev('END')]);
    const initiallyFinal = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.final0',
      initial: 'x',
      states: { x: { type: 'final', entry: { type: 'observe', params: { what: 'x' } } } },
    });
    same(initiallyFinal, [ev('ANY')]);
  });

  it("the root's transitions apply after the state's own (and re-enter the target); wildcards, exact first", () => {
    const o = (what: string) => ({ type: 'observe' as const, params: { what } });
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.root',
      context: { open: false },
      initial: 'a',
      on: {
        RESET: { target: '.a', actions: o('reset') },
        FALL: { actions: o('root-fall') },
        '*': { actions: o('root-any') },
      },
      states: {
        a: {
          entry: o('a-entry'),
          exit: o('a-exit'),
          on: {
            FALL: { guard: ({ context }) => context.open, actions: o('a-fall') },
            OPEN: { actions: assign({ open: true }) },
            'x.*': { actions: o('x-any') },
            'x.y.*': { actions: o('x-y-any') },
            GO: 'b',
          },
        },
        b: { on: { '*': { actions: o('b-any') } } },
      },
    });
    same(m, [ev('FALL'), ev('OPEN'), ev('FALL'), ev('x.y.z'), ev('x.q'), ev('other'), ev('RESET'), ev('GO'), ev('FALL'), ev('RESET')]);
  });

  it('guards: named, with static and computed params, inline, and/or/not, stateIn; substituted by provide', () => {
    const m = setup({
      actions: { ...effectActions },
      guards: {
        big: ({ context }: { context: { n: number } }, p: { min: number }) => context.n >= p.min,
        odd: ({ context }: { context: { n: number } }) => context.n % 2 === 1,
        alias: 'odd' as never,
      },
    }).createMachine({
      id: 'guards',
      context: { n: 0 },
      initial: 'a',
      states: {
        a: {
          on: {
            INC: { actions: assign({ n: ({ context }) => context.n + 1 }) },
            T: [
              { guard: and([{ type: 'big', params: { min: 3 } }, not('odd')]), actions: { type: 'observe', params: { what: 'big-even' } } },
              { guard: or(['odd', { type: 'big', params: ({ context }: { context: { n: number } }) => ({ min: context.n }) } as never]), actions: { type: 'observe', params: { what: 'odd-or-self' } } },
            ],
            IN: { guard: and([stateIn('a'), stateIn('#guards.a'), not(stateIn('b'))]), target: 'b' },
          },
        },
        b: { on: { IN: { guard: stateIn('#guards'), actions: { type: 'observe', params: { what: 'in-root' } } } } },
      },
    });
    same(m, [ev('T'), ev('INC'), ev('T'), ev('INC'), ev('INC'), ev('INC'), ev('T'), ev('IN'), ev('IN')]);
    const provided = m.provide({ guards: { odd: () => false } });
    same(provided, [ev('T'), ev('INC'), ev('T'), ev('INC'), ev('INC'), ev('INC'), ev('T')]);
  });

  it('a guard that throws is reported as xstate reports it; so is a guard that is not implemented', () => {
    const m = setup({ guards: { boom: () => { throw new Error('kaput'); } } }).createMachine({
      id: 't.throw',
      initial: 'a',
      states: { a: { on: { E: { guard: 'boom', target: 'a' }, F: { guard: 'nope' as never, target: 'a' } } } },
    });
    const x = same(m, [ev('E')]);
    expect(JSON.stringify(x)).toContain("Unable to evaluate guard 'boom' in transition for event 'E' in state node 't.throw.a':");
    same(m, [ev('F')]);
  });

  it('raise: undelayed events are taken in the same macrostep after the eventless transitions; delayed ones and cancel go to the world', () => {
    const o = (what: string) => ({ type: 'observe' as const, params: { what } });
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.raise',
      context: { k: 0 },
      initial: 'a',
      states: {
        a: {
          on: {
            GO: { actions: [raise({ type: 'INNER' }), o('go'), raise({ type: 'LATER' }, { id: 'l1', delay: 5 }), raise(({ context }) => ({ type: 'DYN', k: context.k }), { delay: ({ context }) => context.k + 1 })] },
            INNER: { target: 'b', actions: o('inner') },
            STOP: { actions: cancel('l1') },
          },
          always: { guard: ({ context }) => context.k === 1, actions: [assign({ k: 2 }), o('always')] },
        },
        b: { entry: [assign({ k: 1 }), o('b-entry')], on: { BACK: 'a' } },
      },
    });
    same(m, [ev('GO'), ev('BACK'), ev('STOP')]);
  });

  it('compound states that group leaves: values, initial leaves, targets by key, by path and by id, root transitions, after and always in leaves, matches', () => {
    const o = (what: string) => ({ type: 'observe' as const, params: { what } });
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 'groups',
      initial: 'idle',
      on: { RESET: { target: '.idle', actions: o('reset') } },
      states: {
        idle: { on: { GO: 'map.pin', MAP: 'map', DEEP: 'outer' } },
        map: {
          initial: 'walk',
          states: {
            walk: { entry: o('walk-in'), exit: o('walk-out'), on: { NEXT: { target: 'pin', actions: o('next') }, SELF: 'walk' }, after: { 5: 'pin' } },
            pin: { always: { guard: ({ event }) => event.type === 'SKIP', target: '#groups.map.done' }, on: { SKIP: { actions: o('skip') }, OUT: '#leave' } },
            done: { on: { BACK: '#groups.idle' } },
          },
        },
        outer: { initial: 'inner', states: { inner: { initial: 'leaf', states: { leaf: { entry: o('leaf'), on: { UP: '#groups.map' } } } } } },
        leave: { id: 'leave', type: 'final', entry: o('bye') },
      },
    });
    same(m, [ev('MAP'), ev('SELF'), ev('NEXT'), ev('SKIP'), ev('BACK'), ev('GO'), ev('RESET'), ev('DEEP'), ev('UP'), ev('NEXT'), ev('OUT'), ev('RESET')]);
    const s = strictFastEngine.start(m, 'a', undefined, recorder([]));
    strictFastEngine.step(m, 'a', s, ev('DEEP'), recorder([]));
    expect(s.value).toEqual({ outer: { inner: 'leaf' } });
    for (const v of ['outer', 'outer.inner', 'outer.inner.leaf', { outer: 'inner' }, { outer: { inner: 'leaf' } }]) expect(s.matches(v as never)).toBe(true);
    for (const v of ['inner', 'leaf', 'map', { outer: 'leaf' }]) expect(s.matches(v as never)).toBe(false);
  });

  it('entry and exit: a state targeting itself stays unless reenter; reenter exits and enters', () => {
    const o = (what: string) => ({ type: 'observe' as const, params: { what } });
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 'reenter',
      initial: 'a',
      states: {
        a: {
          entry: o('a-entry'),
          exit: o('a-exit'),
          after: { 3: { target: 'b' } },
          on: { SELF: { target: 'a', actions: o('self') }, RE: { target: 'a', reenter: true, actions: o('re') }, B: '#reenter.b' },
        },
        b: { entry: o('b-entry'), on: { A: { target: 'a', reenter: true } } },
      },
    });
    same(m, [ev('SELF'), ev('RE'), ev('B'), ev('A')]);
  });

  it('enqueueActions: enqueue, enqueue.assign/raise/cancel, check, named actions, nested; later closures see the context the callback saw', () => {
    const m = setup({
      types: { context: {} as { n: number; m: number } },
      actions: {
        ...effectActions,
        named: assign({ m: ({ context }) => context.n * 10 }),
        nested: enqueueActions(({ context, enqueue }) => {
          enqueue.assign({ n: context.n + 100 });
          enqueue({ type: 'observe', params: { what: 'nested', n: context.n } });
        }),
      },
      guards: { positive: ({ context }) => context.n > 0 },
    }).createMachine({
      id: 't.enqueue',
      context: { n: 0, m: 0 },
      initial: 'a',
      states: {
        a: {
          on: {
            E: {
              actions: enqueueActions(({ context: c, enqueue, check }) => {
                enqueue({ type: 'observe', params: { what: 'before', n: c.n } });
                enqueue(assign({ n: c.n + 1 }));
                // Read after the write: xstate's closure sees the context before it.
                enqueue({ type: 'observe', params: () => ({ what: 'closure', n: c.n }) });
                enqueue({ type: 'observe', params: ({ context }) => ({ what: 'live', n: context.n }) });
                if (check('positive')) enqueue({ type: 'observe', params: { what: 'was-positive' } });
                enqueue('named');
                enqueue.assign(({ context }) => ({ m: context.m + c.n }));
                enqueue('nested');
                enqueue.raise({ type: 'R' });
                enqueue.raise({ type: 'D' }, { id: 'd', delay: 4 });
                enqueue.cancel('d');
              }),
            },
            R: { actions: { type: 'observe', params: ({ context }) => ({ what: 'raised', n: context.n, m: context.m }) } },
          },
        },
      },
    });
    same(m, [ev('E'), ev('E')]);
  });

  it('inline, unknown and log/emit actions reach the world as xstate reports them', () => {
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.odd',
      initial: 'a',
      states: { a: { on: { I: { actions: function inlineOne() {} }, U: { actions: 'unknownName' as never }, L: { actions: log('hi') }, M: { actions: emit({ type: 'out' }) } } } },
    });
    for (const e of ['I', 'U', 'L', 'M']) same(m, [ev(e)]);
  });

  it('a machine without setup, context given as an object: every actor gets its own copy', () => {
    const m = createMachine({ id: 't.plain', context: { n: 1 }, initial: 'a', states: { a: { on: { E: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } } });
    same(m, [ev('E')]);
    const s1 = fastEngine.start(m, 'a', undefined, recorder([]));
    fastEngine.step(m, 'a', s1, ev('E'), recorder([]));
    expect((m.config.context as { n: number }).n).toBe(1);
    expect(fastEngine.start(m, 'b', undefined, recorder([])).context).toEqual({ n: 1 });
  });
});

describe('fast engine: what it refuses, the fallback, the snapshot', () => {
  // A compound state with behaviour of its own (entry actions): not interpreted.
  const nested = createMachine({ id: 't.nested', initial: 'a', states: { a: { initial: 'x', entry: log('in a'), states: { x: {} } } } });

  it('refuses a machine it does not interpret, naming the machine and the feature', () => {
    expect(() => compileMachine(nested)).toThrow(UnsupportedFeature);
    expect(() => compileMachine(nested)).toThrow(/machine "t.nested" uses a compound state with its own actions, transitions or tags \(state "a"\)/);
    const parallel = createMachine({ id: 't.par', initial: 'a', states: { a: { type: 'parallel', states: { x: {}, y: {} } } } });
    expect(() => compileMachine(parallel)).toThrow(/machine "t.par" uses a parallel state \(state "a"\)/);
    const inGroup = setup({ guards: {} }).createMachine({ id: 't.in', initial: 'g', states: { g: { initial: 'x', states: { x: { on: { E: { guard: stateIn('#t.in.g') as never, target: 'y' } } }, y: {} } } } });
    expect(() => compileMachine(inGroup)).toThrow(/stateIn/);
    const invoking = createMachine({ id: 't.invoke', initial: 'a', states: { a: { invoke: { src: 'x' } } } });
    expect(() => compileMachine(invoking)).toThrow(/machine "t.invoke" uses invoke/);
    const sending = setup({}).createMachine({ id: 't.sendTo', initial: 'a', states: { a: { entry: { type: 'xstate.sendTo' } as never } } });
    expect(() => compileMachine(sending)).not.toThrow(); // a name, not a built-in: reported like any action
  });

  it('runs such a machine on xstate (strict: refuses it), with the same results', () => {
    const s = fastEngine.start(nested, 'a', undefined, recorder([]));
    expect(s).not.toBeInstanceOf(FastSnapshot);
    expect(s.value).toEqual({ a: 'x' });
    expect(() => strictFastEngine.start(nested, 'a', undefined, recorder([]))).toThrow(UnsupportedFeature);
  });

  it('snapshots: matches, hasTag, can, machine; save and load give copies later steps leave alone', () => {
    const m = setup({ actions: { ...effectActions } }).createMachine({
      id: 't.snap',
      context: { n: 0 },
      initial: 'a',
      tags: ['root'],
      states: { a: { tags: ['t1'], on: { E: { actions: assign({ n: ({ context }) => context.n + 1 }) }, G: { guard: () => false, target: 'b' } } }, b: {} },
    });
    const s = fastEngine.start(m, 'a', undefined, recorder([]));
    const x = xstateEngine.start(m, 'a', undefined, recorder([]));
    for (const v of ['a', 'b', 'a.b']) expect(s.matches(v as never)).toBe(x.matches(v as never));
    for (const t of ['root', 't1', 'zz']) expect(s.hasTag(t as never)).toBe(x.hasTag(t as never));
    for (const e of ['E', 'G', 'H']) expect(s.can(ev(e) as never)).toBe(x.can(ev(e) as never));
    expect(s.machine).toBe(m);
    const saved = fastEngine.save(s);
    fastEngine.step(m, 'a', s, ev('E'), recorder([]));
    expect(s.context).toEqual({ n: 1 });
    expect(saved.context).toEqual({ n: 0 });
    const loaded = fastEngine.load(saved);
    fastEngine.step(m, 'a', loaded, ev('E'), recorder([]));
    expect(loaded.context).toEqual({ n: 1 });
    expect(saved.context).toEqual({ n: 0 });
  });
});
