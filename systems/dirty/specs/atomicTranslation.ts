/**
 * split-atomic-translation: a split (and anything else that rewrites live descriptors) keeps
 * every translation. While an area is mapped and not given up, every access to it translates to
 * the area's PA with write permission: no fault window, no other PA (a). After an area's unmap has
 * returned, nothing translates its pages until they are mapped again: no resurrected mapping (b).
 * A live block is replaced by a table only as BBM allows (c): never with BBML0 (SMMUv3's level-0
 * rules make the swap illegal), and with BBML1 only once the block carries nT and no TLB entry
 * holds it.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { is, pagesOf, verdict } from './util.ts';

interface St {
  /** page -> expected PA, for pages of published, not revoked areas. */
  live: Record<number, number>;
  /** page -> the unmap that removed it. */
  gone: Record<number, string>;
  /** Pages of in-kernel partial unmaps (their own business). */
  holes: number[];
  unmaps: Record<string, { iova: number; pages: number }>;
}

export const atomicTranslation: Monitor = {
  name: 'split-atomic-translation',
  description: 'mapped pages always translate to their PA, unmapped ones never do, and a block becomes a table only as BBM allows',
  kind: 'safety',
  observes: ['obs:area', 'obs:revoke', 'obs:op-begin', 'obs:op-end', 'obs:translate', 'obs:dma-fault', 'obs:install-table'],
  create() {
    return stateful<St>({ live: {}, gone: {}, holes: [], unmaps: {} }, {
      onStep(st, rec) {
        for (const o of rec.obs) {
          if (is(o, 'area')) {
            const ps = pagesOf(o.iova, o.pages);
            if (o.event === 'insert') for (const p of ps) delete st.gone[p];
            if (o.event === 'publish') for (const p of ps) st.live[p] = o.pa + (p - o.iova);
            if (o.event === 'pages-null') for (const p of ps) delete st.live[p];
          } else if (is(o, 'revoke')) {
            for (const p of pagesOf(o.iova, o.pages)) delete st.live[p];
          } else if (is(o, 'op-begin')) {
            if (o.op === 'UNMAP') st.unmaps[o.id] = { iova: o.iova!, pages: o.pages! };
            if (o.op === 'UNMAP_PARTIAL') st.holes.push(...pagesOf(o.iova!, o.pages!));
          } else if (is(o, 'op-end') && o.op === 'UNMAP') {
            const u = st.unmaps[o.id];
            delete st.unmaps[o.id];
            if (u && o.rc === 0) for (const p of pagesOf(u.iova, u.pages)) st.gone[p] = o.id;
          } else if (is(o, 'translate')) {
            if (st.holes.includes(o.page)) continue;
            const want = st.live[o.page];
            if (want !== undefined && (o.pa !== want || !o.writable)) {
              return verdict(`page ${o.page} of a mapped area translates to pa ${o.pa}${o.writable ? '' : ' read-only'} (via ${o.via}); it is mapped to pa ${want}, writable`, [o.actor]);
            }
            if (st.gone[o.page] !== undefined) {
              return verdict(`resurrected mapping: page ${o.page} translates to pa ${o.pa} (via ${o.via}) after ${st.gone[o.page]} unmapped it and returned`, [o.actor]);
            }
          } else if (is(o, 'dma-fault')) {
            if (!st.holes.includes(o.page) && st.live[o.page] !== undefined) {
              return verdict(`page ${o.page} of a mapped area (pa ${st.live[o.page]}) faults (${o.reason}): a window with no valid translation`, [o.actor]);
            }
          } else if (is(o, 'install-table') && o.replaced === 'block' && o.ok) {
            if (o.bbml === 0) return verdict(`${o.op} replaces the live block [${o.start},${o.start + o.size}) at ${o.table}[${o.idx}] by table ${o.newTable} without break-before-make, on an SMMU with BBML0`, [o.actor]);
            if (o.bbml === 1 && (!o.oldNT || o.tlbHasOld)) {
              return verdict(`${o.op} replaces the block [${o.start},${o.start + o.size}) at ${o.table}[${o.idx}] under BBML1 ${!o.oldNT ? 'without nT set on it' : 'while a TLB entry still holds it'}`, [o.actor]);
            }
          }
        }
        return null;
      },
    });
  },
};
