/**
 * The fast engine: machines compiled once (per machine object, so per variant) into plain
 * functions (compile.ts) and run on live snapshots updated in place (runtime.ts, snapshot.ts).
 * A machine that uses something the compiler does not interpret runs on xstate instead, in the
 * same world (its snapshots are xstate's); `fastFallbacks()` lists them, with the reason, and the
 * bench prints it. `strictFastEngine` refuses such a machine instead.
 */
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { ActorEngine, EffectSink } from '../engine/engine.ts';
import { xstateEngine } from '../engine/xstate.ts';
import { type CompiledMachine, UnsupportedFeature, compileMachine } from './compile.ts';
import { type Frame, initialMacrostep, macrostep } from './runtime.ts';
import { FastSnapshot } from './snapshot.ts';

const compiled = new WeakMap<AnyStateMachine, CompiledMachine | UnsupportedFeature>();
/** Machines that fell back to xstate, by machine id: the first reason seen. */
const fellBack = new Map<string, string>();

/** The compiled machine, or why it cannot be compiled (cached per machine object). */
export function compiledFor(machine: AnyStateMachine): CompiledMachine | UnsupportedFeature {
  let c = compiled.get(machine);
  if (!c) {
    try {
      c = compileMachine(machine);
    } catch (e) {
      if (!(e instanceof UnsupportedFeature)) throw e;
      c = e;
      if (!fellBack.has(machine.id)) fellBack.set(machine.id, e.message);
    }
    compiled.set(machine, c);
  }
  return c;
}

/** Machines the fast engine ran on xstate in this process (id -> reason). */
export function fastFallbacks(): ReadonlyMap<string, string> {
  return fellBack;
}

function frame(cm: CompiledMachine, snap: FastSnapshot, actor: string, sink: EffectSink): Frame {
  return { cm, snap, event: INIT, actor, sink, queue: null, changed: false, exposed: null };
}
const INIT = { type: 'xstate.init' };

function startFast(cm: CompiledMachine, actor: string, input: unknown, sink: EffectSink): FastSnapshot {
  const context = cm.context(input);
  const snap = new FastSnapshot(cm, cm.initial, context);
  const f = frame(cm, snap, actor, sink);
  f.event = { type: 'xstate.init', input } as never;
  initialMacrostep(f);
  return snap;
}

function makeFastEngine(strict: boolean): ActorEngine {
  return {
    name: 'fast',
    start(machine, actor, input, sink) {
      const cm = compiledFor(machine);
      if (cm instanceof UnsupportedFeature) {
        if (strict) throw cm;
        return xstateEngine.start(machine, actor, input, sink);
      }
      return startFast(cm, actor, input, sink) as unknown as AnyMachineSnapshot;
    },
    step(machine, actor, snap, event, sink) {
      if (!(snap instanceof FastSnapshot)) return xstateEngine.step(machine, actor, snap, event, sink);
      macrostep(frame(snap.cm, snap, actor, sink), event);
      return snap as unknown as AnyMachineSnapshot;
    },
    save: (snap) => (snap instanceof FastSnapshot ? (snap.copy() as unknown as AnyMachineSnapshot) : snap),
    load: (saved) => (saved instanceof FastSnapshot ? (saved.copy() as unknown as AnyMachineSnapshot) : saved),
  };
}

export const fastEngine: ActorEngine = makeFastEngine(false);
/** The fast engine without the fallback: a machine it cannot compile is an error. */
export const strictFastEngine: ActorEngine = makeFastEngine(true);
