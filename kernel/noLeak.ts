/**
 * Destroying an object releases everything it holds: the destroy step names what the object
 * held (`destroy` observation) and must release each of those (`release`) in the same step.
 */
import type { Monitor, Verdict } from '../core/model/monitor.ts';

export const noLeak: Monitor = {
  name: 'no-leak-on-destroy',
  description: 'an object being destroyed releases everything it holds',
  kind: 'safety',
  observes: ['obs:destroy'],
  create() {
    return {
      onStep(rec): Verdict | null {
        const released = new Set(rec.obs.filter((o) => o.what === 'release').map((o) => String(o.obj)));
        for (const o of rec.obs) {
          if (o.what !== 'destroy') continue;
          const kept = (o.holds as string[]).filter((h) => !released.has(h));
          if (kept.length > 0) {
            return { message: `${o.owner} destroyed without releasing ${kept.join(', ')}`, actors: [o.actor], messages: rec.delivered ? [rec.delivered.id] : [] };
          }
        }
        return null;
      },
    };
  },
};
