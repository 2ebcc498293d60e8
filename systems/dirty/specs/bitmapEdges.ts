/**
 * dirty-bitmap-edges: the kernel writes only bits [0, nbits) of the user's bitmap: no bit before
 * it or past it, whatever the buffer's alignment in its page (d18411ec3057, 2780025e01e2, and the
 * unclamped record of today's walker). Checked at every bit write and, at the GET's return, on the
 * user memory around the bitmap.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, verdict } from './util.ts';

export const bitmapEdges: Monitor = {
  name: 'dirty-bitmap-edges',
  description: 'no bit outside [0, nbits) of the user bitmap is written',
  kind: 'safety',
  observes: ['obs:bitmap-set', 'obs:get-return'],
  create() {
    return stateful<Record<string, never>>({}, {
      onStep(_st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'bitmap-set') && (o.bit < 0 || o.bit + o.n > o.nbits)) {
            return verdict(`${o.op} writes bits [${o.bit},${o.bit + o.n}) of a ${o.nbits}-bit user bitmap: ${o.bit < 0 ? 'before its start' : `bits ${Math.max(o.bit, o.nbits)}..${o.bit + o.n - 1} are past its end`}`, [o.actor]);
          }
          if (is(o, 'get-return') && o.outside.length) {
            return verdict(`${o.op} returns with user memory outside its ${o.nbits}-bit bitmap written: bits ${o.outside.join(',')} (relative to bit 0)`, [o.actor]);
          }
        }
        return null;
      },
    });
  },
};
