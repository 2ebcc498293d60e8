/**
 * The fast engine's snapshot of one actor: what xstate's machine snapshot offers the actor kinds
 * and the world (`value`, `context`, `status`, `machine`, `matches`, `hasTag`, `can`, `toJSON`),
 * kept live: a step updates it in place. `copy()` gives one that later steps do not change.
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import type { CState, CompiledMachine } from './compile.ts';
import { type Frame, select } from './runtime.ts';

const EMPTY = Object.freeze({});

export class FastSnapshot {
  status: 'active' | 'done' = 'active';
  value: string;
  readonly output: unknown = undefined;
  readonly error: unknown = undefined;
  readonly machine: AnyStateMachine;

  constructor(
    readonly cm: CompiledMachine,
    public state: CState,
    public context: Record<string, unknown>,
  ) {
    this.value = state.key;
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

  /** xstate's `matches` for a flat machine: the state's key (a dotted path never matches). */
  matches(v: unknown): boolean {
    return typeof v === 'string' && !v.includes('.') && v === this.value;
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

const noSink = {
  effect() {
    throw new Error('snapshot.can() evaluated an effect');
  },
  delay() {},
  cancel() {},
};
