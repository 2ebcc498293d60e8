/**
 * map-overlap-policy (mapPath=seed): the policy the seed's review settled on: a MAP over live
 * entries fails with -EBUSY and changes nothing (Alex Williamson: "nervous that we're silently
 * doing fixups on user parameters to ... clear overlaps without any warning to the user").
 * Today's MAP replaces on purpose, so the monitor applies to the seed family only.
 */
import type { Monitor } from '../../../core/model/monitor.ts';
import { stateful } from '../../../core/model/monitor.ts';
import { obsOf, verdict } from './util.ts';

export const mapOverlapPolicy: Monitor = {
  name: 'map-overlap-policy',
  description: 'seed: a MAP over live entries returns -EBUSY and changes nothing (no silent fixups)',
  kind: 'safety',
  observes: ['obs:map-result'],
  create(params) {
    const applies = params.mapPath === 'seed';
    return stateful<Record<string, never>>(
      {},
      {
        onStep(_st, rec) {
          if (!applies) return null;
          for (const o of obsOf(rec, 'map-result')) {
            if (o.replaced > 0) return verdict(`MAP of [${o.start}, ${o.start + o.n}) by ${o.thread} silently released ${o.replaced} live entr${o.replaced === 1 ? 'y' : 'ies'} and returned ${o.ret} (expected -EBUSY, nothing changed)`, [o.actor]);
          }
          return null;
        },
      },
    );
  },
};
