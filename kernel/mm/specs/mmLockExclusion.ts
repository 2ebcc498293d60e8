/**
 * mmap_lock is never held by a writer together with anyone else, and the page-table lock by
 * two holders at once. Inline and turnstile runs cannot break it (a step is enabled only when
 * its lock can be taken); it judges free mode's stamped history, where the Atomics locks did
 * the excluding for real.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';

const MMAP = 'mmap_lock';
const PTL = 'page_table_lock';

interface Holders {
  writer: string | null;
  readers: string[];
  ptl: string | null;
}

export const mmLockExclusion: Monitor = {
  name: 'mm-lock-exclusion',
  description: 'mmap_lock is never held by a reader and the writer (or two writers) at once; the page-table lock has one holder',
  kind: 'safety',
  observes: ['locks'],
  create() {
    return stateful<Holders>(
      { writer: null, readers: [], ptl: null },
      {
        onStep(st, rec): Verdict | null {
          for (const l of rec.locks) {
            if (l.lock === MMAP) {
              if (l.op === 'acquire') {
                const clash = st.writer ?? (l.mode === 'write' && st.readers.length ? st.readers.join(', ') : null);
                if (clash) {
                  return {
                    message: `mmap_lock taken for ${l.mode} by ${l.by} (${l.path}) while held by ${st.writer ? `${st.writer} (write)` : `${clash} (read)`}`,
                    actors: [l.by],
                    messages: [],
                  };
                }
                if (l.mode === 'read') st.readers.push(l.by);
                else st.writer = l.by;
              } else if (st.writer === l.by) st.writer = null;
              else if (st.readers.includes(l.by)) st.readers.splice(st.readers.indexOf(l.by), 1);
            } else if (l.lock === PTL) {
              if (l.op === 'acquire') {
                if (st.ptl !== null) {
                  return { message: `the page-table lock taken by ${l.by} (${l.path}) while held by ${st.ptl}`, actors: [l.by, st.ptl], messages: [] };
                }
                st.ptl = l.by;
              } else if (st.ptl === l.by) st.ptl = null;
            }
          }
          return null;
        },
      },
    );
  },
};
