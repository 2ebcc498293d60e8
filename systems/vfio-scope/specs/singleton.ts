/**
 * singleton: an IOMMU-backed group in pinned scope has exactly one device, both at the pin that
 * promotes it (the linearisation point: the pin's last page) and afterwards, when a device joins
 * it. Otherwise the pinned set speaks for one device while another DMAs anywhere (seed: "we
 * require that only singleton IOMMU groups can pin pages ... vfio.c would therefore also need to
 * ... return error if a new device attempts to join the group").
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import type { VfioObs } from '../types.ts';

interface St {
  kind: Record<string, 'iommu' | 'emulated'>;
  scope: Record<string, boolean>;
  devCounter: Record<string, number>;
  pinStep: Record<string, number>;
}

export const singleton: Monitor = {
  name: 'singleton',
  description: 'an IOMMU-backed group in pinned scope has exactly one device: at the promoting pin and when a device joins',
  kind: 'safety',
  observes: ['obs:scope-change', 'obs:group-attach', 'obs:group-detach', 'obs:join', 'obs:core-init'],
  create() {
    return stateful<St>({ kind: {}, scope: {}, devCounter: {}, pinStep: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (o.what === 'core-init') st.devCounter[String(o.g)] = Number(o.devCounter);
          else if (o.what === 'group-attach') {
            st.kind[String(o.g)] = o.kind as 'iommu';
            st.scope[String(o.g)] = Boolean(o.scope);
          } else if (o.what === 'group-detach') delete st.scope[String(o.g)];
          else if (o.what === 'scope-change') {
            const c = o as unknown as VfioObs['scope-change'];
            st.scope[c.g] = c.to;
            if (c.to && c.kind === 'iommu') {
              st.pinStep[c.g] = rec.i;
              if (c.devCounter !== 1) return { message: `IOMMU group ${c.g} entered pinned scope by a pin while it has ${c.devCounter} devices (dev_counter at the pin's last page, step ${rec.i})`, actors: [o.actor], messages: [] };
            }
          } else if (o.what === 'join') {
            const j = o as unknown as VfioObs['join'];
            st.devCounter[j.g] = j.devCounter;
            if (j.result === 'ok' && st.scope[j.g] && st.kind[j.g] === 'iommu') {
              return {
                message: `device ${j.dev} joined IOMMU group ${j.g} (dev_counter now ${j.devCounter}) while ${j.g} is in pinned scope since the pin at step ${st.pinStep[j.g] ?? '?'}: its DMA is outside the pinned set`,
                actors: [o.actor],
                messages: [],
              };
            }
          }
        }
        return null;
      },
    });
  },
};
