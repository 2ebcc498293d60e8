/**
 * scope-counter-exact: at every release of iommu->lock the scope summary says exactly which
 * groups are out of pinned scope. counter (v5.12+, 010321565a7d): num_non_pinned_groups equals
 * the attached groups not in pinned scope. bool (v5.8-v5.11): pinned_page_dirty_scope is true
 * exactly when every attached group is in scope (not judged with no group attached: the bool's
 * initial value then does not matter, iommu_mapped is false). walk: there is no summary.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { VfioObs } from '../types.ts';

export const scopeCounterExact: Monitor = {
  name: 'scope-counter-exact',
  description: 'num_non_pinned_groups (or the v5.8 bool) matches the groups not in pinned scope at every iommu->lock release',
  kind: 'safety',
  observes: ['obs:iommu-unlock'],
  create() {
    return stateful({}, {
      onStep(_st, rec) {
        for (const u of observed<VfioObs, 'iommu-unlock'>(rec, 'iommu-unlock')) {
          const out = u.groups.filter((g) => !g.scope);
          const list = u.groups.map((g) => `${g.g}(${g.kind}, scope=${g.scope})`).join(', ') || 'none';
          if (u.mode === 'counter' && u.counter !== out.length) {
            return { message: `num_non_pinned_groups is ${u.counter} when ${u.op} releases iommu->lock, but ${out.length} attached group(s) are not in pinned scope; groups: ${list}`, actors: [u.actor], messages: [] };
          }
          if (u.mode === 'bool' && u.groups.length > 0 && u.pinnedScope !== (out.length === 0)) {
            return { message: `pinned_page_dirty_scope is ${u.pinnedScope} when ${u.op} releases iommu->lock, but ${out.length} attached group(s) are not in pinned scope; groups: ${list}`, actors: [u.actor], messages: [] };
          }
        }
        return null;
      },
    });
  },
};
