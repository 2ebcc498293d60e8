/**
 * itree-consistent: whenever a pages->mutex is released, that iopt_pages' domains_itree holds
 * exactly the pages_nodes of its filled areas (storage_domain set), each with the area's index
 * range, and no node of a freed or foreign area (e7250ab7ca49, CVE-2023-52801: a split left the
 * freed area's node in the tree).
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { FlushObservations } from '../types.ts';

export const itreeConsistent: Monitor = {
  name: 'itree-consistent',
  description: "domains_itree holds exactly the filled areas' pages_nodes at every pages->mutex release",
  kind: 'safety',
  observes: ['obs:itree'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        for (const o of observed<FlushObservations, 'itree'>(rec, 'itree')) {
          if (o.problems.length) return { message: `after ${o.actor} released ${o.pages}.mutex: ${o.problems.join('; ')}`, actors: [o.actor], messages: [] };
        }
        return null;
      },
    });
  },
};
