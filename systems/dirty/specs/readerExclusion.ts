/**
 * dirty-reader-exclusion: the iova_rwsem contract of io_pagetable.c. The area tree and
 * area->pages change only with iova_rwsem held for write by the thread that changes them, and
 * never while another thread holds it for read; the dirty walker (GET, SET) visits only leaves of
 * areas whose pages are set. Map fill and unmap unfill do run concurrently with readers (F12, F13):
 * the readers skip those areas because their pages are NULL.
 */
import { type Monitor, stateful } from '../../../core/model/monitor.ts';
import { LOCK_IOVA } from '../types.ts';
import { events, is, verdict } from './util.ts';

interface St {
  writer: string | null;
  readers: string[];
  areas: Record<string, { iova: number; pages: number; pagesSet: boolean }>;
}

export const readerExclusion: Monitor = {
  name: 'dirty-reader-exclusion',
  description: 'area changes hold iova_rwsem for write with no reader; dirty reads visit only areas whose pages are set',
  kind: 'safety',
  observes: ['locks', 'obs:area', 'obs:dirty-visit'],
  create() {
    return stateful<St>({ writer: null, readers: [], areas: {} }, {
      onStep(st, rec) {
        for (const e of events(rec)) {
          if ('lock' in e) {
            const l = e.lock;
            if (l.lock !== LOCK_IOVA) continue;
            if (l.op === 'acquire') {
              if (l.mode === 'read') st.readers.push(l.by);
              else st.writer = l.by;
            } else if (st.writer === l.by) st.writer = null;
            else if (st.readers.includes(l.by)) st.readers.splice(st.readers.indexOf(l.by), 1);
            continue;
          }
          const o = e.obs;
          if (is(o, 'area')) {
            if (st.writer !== o.actor || st.readers.length) {
              return verdict(`${o.actor} changes area ${o.area} (${o.event}) holding iova_rwsem ${st.writer === o.actor ? 'for write' : 'not for write'}${st.readers.length ? ` while ${st.readers.join(', ')} hold it for read` : ''}`, [o.actor]);
            }
            if (o.event === 'insert') st.areas[o.area] = { iova: o.iova, pages: o.pages, pagesSet: false };
            else if (o.event === 'publish') st.areas[o.area].pagesSet = true;
            else if (o.event === 'pages-null') st.areas[o.area].pagesSet = false;
            else delete st.areas[o.area];
          } else if (is(o, 'dirty-visit') && o.kind === 'leaf') {
            const a = Object.entries(st.areas).find(([, x]) => o.start < x.iova + x.pages && x.iova < o.start + o.size);
            if (!a || !a[1].pagesSet) {
              return verdict(`${o.op} visits leaf [${o.start},${o.start + o.size}) (${o.table}[${o.idx}] ${o.pte}) of ${a ? `area ${a[0]}, whose pages are NULL (being mapped or unmapped)` : 'no area'}`, [o.actor]);
            }
          }
        }
        return null;
      },
    });
  },
};
