/**
 * At quiescence no partial fault is left on any fault parameter's partial list.
 * A function whose PRI was disabled by a Response Failure can never send the rest of a group
 * it had started; the kernel keeps those partials until the device is removed, by design, so
 * such a device is exempt.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import type { FaultParamContext } from '../machines/faultParam.ts';

export const noStuckPartial: Monitor = {
  name: 'no-stuck-partial',
  description: 'no partial fault is left on a partial list at quiescence',
  kind: 'liveness',
  observes: [],
  create() {
    // Judges the final state only: nothing to keep between steps.
    return stateful(
      {},
      {
        atQuiescence(_st, q): Verdict | null {
          for (const [id, a] of Object.entries(q.actors)) {
            if (a.kind !== 'iopf.faultParam') continue;
            // The quiescence view gives contexts untyped; this one is a fault parameter's.
            const { partial, dev } = a.context as unknown as FaultParamContext;
            if (q.actors[dev]?.context.priOff) continue;
            if (partial.length > 0) {
              return {
                message: `${id} still holds ${partial.length} partial fault(s) at quiescence: ${partial.map((p) => `${p.reqId} (grpid ${p.grpid})`).join(', ')}`,
                actors: [id],
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
