/**
 * The fast engine's snapshot of one actor: what xstate's machine snapshot offers the actor kinds
 * and the world (`value`, `context`, `status`, `machine`, `matches`, `hasTag`, `can`, `toJSON`),
 * kept live: a step updates it in place. `copy()` gives one that later steps do not change.
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import type { CState, CompiledMachine, StateValue } from './compile.ts';
import { type Frame, select } from './runtime.ts';

const EMPTY = Object.freeze({});

export class FastSnapshot {
  status: 'active' | 'done' = 'active';
  value: StateValue;
  readonly output: unknown = undefined;
  readonly error: unknown = undefined;
  readonly machine: AnyStateMachine;

  constructor(
    readonly cm: CompiledMachine,
    public state: CState,
    public context: Record<string, unknown>,
  ) {
    this.value = state.value;
    this.machine = cm.machine;
  }

  get children(): Record<string, never> {
    return EMPTY;
  }

  get historyValue(): Record<string, never> {
    return EMPTY;
  }

  get tags(): Set<string> {
    return new Set([...this.cm.rootTags, ...this.state.tags]);
  }

  /** xstate's `matches`: the leaf or one of its groups, as a dotted path or a state value. */
  matches(v: unknown): boolean {
    return this.state.matches.has(typeof v === 'string' ? v : dotted(v));
  }

  hasTag(tag: string): boolean {
    return this.state.tags.includes(tag) || this.cm.rootTags.includes(tag);
  }

  /** xstate's `can`: some transition for `event` is enabled and does something. */
  can(event: EventObject): boolean {
    const f: Frame = { cm: this.cm, snap: this, event, actor: '', sink: noSink, queue: null, changed: false, exposed: null };
    const t = select(f, this.cm.candidates(this.state, event.type));
    return t !== null && (t.hasTarget || t.actions.length > 0);
  }

  /** The same, copied: the context object is new (its values are shared: machines never change them). */
  copy(): FastSnapshot {
    const s = new FastSnapshot(this.cm, this.state, { ...this.context });
    s.status = this.status;
    return s;
  }

  toJSON(): unknown {
    return { status: this.status, value: this.value, context: this.context, children: {}, historyValue: {}, tags: [...this.tags] };
  }
}

/** A state value as a dotted path ({ a: { b: 'c' } } -> "a.b.c"; several keys: no path). */
function dotted(v: unknown): string {
  let out = '';
  let x = v;
  while (x !== null && typeof x === 'object') {
    const keys = Object.keys(x);
    if (keys.length !== 1) return '\u0000';
    out += (out ? '.' : '') + keys[0];
    x = (x as Record<string, unknown>)[keys[0]];
  }
  return typeof x === 'string' ? out + (out ? '.' : '') + x : '\u0000';
}

const noSink = {
  effect() {
    throw new Error('snapshot.can() evaluated an effect');
  },
  delay() {},
  cancel() {},
};
