/**
 * scope-monotone: a group's pinned_page_dirty_scope goes false -> true only at the end of a
 * FULLY successful vfio_pin_pages (every page pinned), and never back, except by re-creation
 * (detach then attach makes a new record) or, in the reset-on-join design, a device joining.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { observed } from '../../../core/model/observations.ts';
import type { VfioObs } from '../types.ts';

export const scopeMonotone: Monitor = {
  name: 'scope-monotone',
  description: "a group's pinned scope goes false->true only on a fully successful pin, and true->false only by re-creation or reset-on-join",
  kind: 'safety',
  observes: ['obs:scope-change', 'obs:group-attach', 'obs:group-detach'],
  create(params) {
    const resetOnJoin = params.singleton === 'reset-on-join';
    return stateful({ scope: {} as Record<string, boolean> }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (o.what === 'group-attach') st.scope[String(o.g)] = Boolean(o.scope);
          else if (o.what === 'group-detach') delete st.scope[String(o.g)];
          else if (o.what === 'scope-change') {
            const c = o as unknown as VfioObs['scope-change'] & { actor: string };
            const was = st.scope[c.g];
            if (was !== undefined && was !== c.from) {
              return { message: `group ${c.g}: scope change ${c.from}->${c.to} (${c.cause}) but its scope was ${was}`, actors: [c.actor], messages: [] };
            }
            if (c.to && !(c.cause === 'pin' && c.pinComplete)) {
              return { message: `group ${c.g} (${c.kind}) entered pinned scope by ${c.cause} before the pin completed (pinComplete=${c.pinComplete}): a pin that later fails or unwinds leaves it promoted`, actors: [c.actor], messages: [] };
            }
            if (!c.to && !(c.cause === 'join' && resetOnJoin)) {
              return { message: `group ${c.g} (${c.kind}) left pinned scope by ${c.cause}, which only reset-on-join allows`, actors: [c.actor], messages: [] };
            }
            st.scope[c.g] = c.to;
          }
        }
        return null;
      },
    });
  },
};
