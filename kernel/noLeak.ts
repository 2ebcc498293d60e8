/**
 * Destroying an object releases everything it holds: the destroy step names what the object
 * held (`destroy` observation) and must release each of those (`release`) in the same step.
 */
import { type Monitor, type Verdict, stateful } from '../core/model/monitor.ts';
import { observed } from '../core/model/observations.ts';

/** What this monitor reads: `owner` is being destroyed holding `holds`; `obj` is released. */
export type LeakObservations = {
  destroy: { owner: string; holds: string[] };
  release: { obj: string };
};

export const noLeak: Monitor = {
  name: 'no-leak-on-destroy',
  description: 'an object being destroyed releases everything it holds',
  kind: 'safety',
  observes: ['obs:destroy'],
  create() {
    // Judges each step on its own: no state between steps.
    return stateful(
      {},
      {
        onStep(_st, rec): Verdict | null {
          const released = new Set(observed<LeakObservations, 'release'>(rec, 'release').map((o) => String(o.obj)));
          for (const o of observed<LeakObservations, 'destroy'>(rec, 'destroy')) {
            const kept = o.holds.filter((h) => !released.has(h));
            if (kept.length > 0) {
              return { message: `${o.owner} destroyed without releasing ${kept.join(', ')}`, actors: [o.actor], messages: rec.delivered ? [rec.delivered.id] : [] };
            }
          }
          return null;
        },
      },
    );
  },
};
