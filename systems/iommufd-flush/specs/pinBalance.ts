/**
 * pin-balance: no page is unpinned by an iopt_pages that does not hold it (an unpin below zero for
 * that holder), and at quiescence the selftest's check_refs holds: every page frame's pin count is
 * the number of iopt_pages holding it (xarray or a filled area's pages_node), npinned ==
 * last_npinned == the indexes held, and a freed iopt_pages holds nothing.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { IommufdState } from '../state/iommufd.ts';
import { type FlushObservations, STATE } from '../types.ts';

export const pinBalance: Monitor = {
  name: 'pin-balance',
  description: 'no unpin of a page its iopt_pages does not hold; at quiescence pins match holders (check_refs)',
  kind: 'safety',
  observes: ['obs:unpin'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_s, rec) {
        for (const o of observed<FlushObservations, 'unpin'>(rec, 'unpin')) {
          if (o.error) return { message: `${o.actor} (${o.path}) unpins ${o.pages}[${o.idx}]: ${o.error}`, actors: [o.actor], messages: [] };
        }
        return null;
      },
      atQuiescence(_s, q) {
        const st = q.shared?.(STATE) as IommufdState | undefined;
        const bad = st?.checkRefs() ?? [];
        return bad.length ? { message: `check_refs: ${bad.join('; ')}`, actors: [], messages: [] } : null;
      },
    });
  },
};
