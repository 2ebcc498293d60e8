/**
 * kmemleak for the model, written once over the engine's heap vocabulary (HeapObservations):
 * any system that reports `alloc`/`free` of its objects and `get`/`put` of references on them
 * gets it by listing `heapLeak` among its scenario's monitors.
 *
 *   alloc {obj, owner?}   obj is live; `owner` (an object or an actor) keeps it reachable.
 *                         Without an owner the allocating actor owns it.
 *   get   {obj, owner}    `owner` (the holder: an object, an actor, or a kernel path) takes a
 *                         reference on obj.
 *   put   {obj, owner}    that holder drops it.
 *   free  {obj}
 *
 * Safety, on the step:
 *   - a put by a holder that holds no reference on obj (refcount underflow);
 *   - a free of a refcounted object while references are still held (refcount != holders: the
 *     holders point at freed memory).
 * At quiescence (kmemleak's scan), every object allocated and not freed must be reachable from
 * a live owner (following owners up to an actor), and every reference still held must have a
 * live holder: an actor, or an object allocated and not freed. A reference held by a freed
 * object or by a path that returned was never put: a leaked reference, so the object it pins
 * (e.g. a removed device's fault parameter) never reaches zero.
 */
import { type Monitor, type Verdict, stateful } from '../core/model/monitor.ts';
import { type HeapObservations, observed } from '../core/model/observations.ts';
import type { StepRecord } from '../core/model/monitor.ts';

interface Obj {
  step: number;
  by: string;
  /** Who keeps it reachable (an object name or an actor id). */
  owner: string;
  freed?: { step: number; by: string };
  /** holder -> references held. */
  refs: Map<string, number>;
  /** Was it ever refcounted (a get seen)? */
  counted: boolean;
}

type Heap = Pick<HeapObservations, 'alloc' | 'free' | 'get' | 'put'>;

const KINDS = new Set(['alloc', 'free', 'get', 'put']);

function heapObs(rec: StepRecord) {
  if (!rec.obs.some((o) => KINDS.has(o.what))) return [];
  return [
    ...observed<Heap, 'alloc'>(rec, 'alloc'),
    ...observed<Heap, 'free'>(rec, 'free'),
    ...observed<Heap, 'get'>(rec, 'get'),
    ...observed<Heap, 'put'>(rec, 'put'),
  ].sort((a, b) => a.seq - b.seq);
}

const held = (o: Obj) => [...o.refs].filter(([, n]) => n > 0);
const describe = (refs: [string, number][]) => refs.map(([h, n]) => (n > 1 ? `${h} (x${n})` : h)).join(', ');

export const heapLeak: Monitor = {
  name: 'no-leak-at-quiescence',
  description: 'kmemleak: at quiescence every object is freed or reachable from a live owner, and every reference held has a live holder; no put without a get, no free while referenced',
  kind: 'safety',
  observes: ['obs:alloc', 'obs:free', 'obs:get', 'obs:put'],
  create() {
    return stateful(
      { objs: new Map<string, Obj>() },
      {
        onStep({ objs }, rec): Verdict | null {
          const blame = (actor: string): Verdict['actors'] => [actor];
          const msgs = rec.delivered ? [rec.delivered.id] : [];
          for (const o of heapObs(rec)) {
            const by = String(o.by ?? o.actor);
            let obj = objs.get(o.obj);
            if (o.what === 'alloc') {
              objs.set(o.obj, { step: rec.i, by, owner: o.owner ?? o.actor, refs: new Map(), counted: false });
              continue;
            }
            if (!obj) {
              // An object from before the run's first observation: track it from here, owned by its actor.
              obj = { step: rec.i, by: 'before the run', owner: o.actor, refs: new Map(), counted: false };
              objs.set(o.obj, obj);
            }
            if (o.what === 'get') {
              const h = o.owner ?? o.actor;
              obj.refs.set(h, (obj.refs.get(h) ?? 0) + 1);
              obj.counted = true;
            } else if (o.what === 'put') {
              const h = o.owner ?? o.actor;
              const n = obj.refs.get(h) ?? 0;
              if (n <= 0) {
                return { message: `refcount underflow: ${by} put a reference on ${o.obj} that ${h} does not hold (held: ${describe(held(obj)) || 'none'})`, actors: blame(o.actor), messages: msgs };
              }
              if (n === 1) obj.refs.delete(h);
              else obj.refs.set(h, n - 1);
            } else {
              const still = held(obj);
              if (obj.counted && still.length > 0 && !obj.freed) {
                return {
                  message: `${by} freed ${o.obj} while ${still.reduce((s, [, n]) => s + n, 0)} reference(s) are still held by ${describe(still)}: the refcount does not match its holders`,
                  actors: blame(o.actor),
                  messages: msgs,
                };
              }
              obj.freed ??= { step: rec.i, by };
            }
          }
          return null;
        },
        atQuiescence({ objs }, q): Verdict | null {
          const live = (name: string, seen = new Set<string>()): boolean => {
            if (name in q.actors) return true;
            const o = objs.get(name);
            if (!o || o.freed || seen.has(name)) return false;
            seen.add(name);
            return live(o.owner, seen);
          };
          const why = (holder: string): string => {
            const h = objs.get(holder);
            if (h?.freed) return `${holder}, freed at step ${h.freed.step} by ${h.freed.by} without putting it`;
            if (h) return `${holder}, itself unreachable`;
            return `${holder}, which returned without putting it`;
          };
          for (const [name, o] of objs) {
            if (o.freed) continue;
            const dead = held(o).filter(([h]) => !live(h));
            if (dead.length > 0) {
              const total = [...o.refs.values()].reduce((s, n) => s + n, 0);
              return {
                message: `leaked reference: ${name} (refcount ${total}) is still referenced by ${dead.map(([h]) => why(h)).join('; ')}, so it can never be freed`,
                actors: [],
                messages: [],
              };
            }
            if (o.counted && o.refs.size === 0) {
              return { message: `leak: ${name}'s last reference was put but ${name} (allocated at step ${o.step} by ${o.by}) was never freed`, actors: [], messages: [] };
            }
            if (!o.counted && !live(name)) {
              const owner = objs.get(o.owner);
              return {
                message: `leak: ${name} (allocated at step ${o.step} by ${o.by}) is unreachable: its owner ${o.owner} ${owner?.freed ? `was freed at step ${owner.freed.step} by ${owner.freed.by}` : 'is gone'}`,
                actors: [],
                messages: [],
              };
            }
          }
          return null;
        },
      },
    );
  },
};
