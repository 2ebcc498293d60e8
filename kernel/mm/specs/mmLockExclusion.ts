/**
 * mmap_lock is never held by a writer together with anyone else, and the page-table lock by
 * two holders at once. Inline and turnstile runs cannot break it (a step is enabled only when
 * its lock can be taken); it judges free mode's stamped history, where the Atomics locks did
 * the excluding for real.
 */
import type { Monitor, Verdict } from '../../../core/model/monitor.ts';

const MMAP = 'mmap_lock';
const PTL = 'page_table_lock';

export const mmLockExclusion: Monitor = {
  name: 'mm-lock-exclusion',
  description: 'mmap_lock is never held by a reader and the writer (or two writers) at once; the page-table lock has one holder',
  kind: 'safety',
  observes: ['locks'],
  create() {
    let writer: string | null = null;
    const readers: string[] = [];
    let ptl: string | null = null;
    return {
      onStep(rec): Verdict | null {
        for (const l of rec.locks) {
          if (l.lock === MMAP) {
            if (l.op === 'acquire') {
              const clash = writer ?? (l.mode === 'write' && readers.length ? readers.join(', ') : null);
              if (clash) {
                return {
                  message: `mmap_lock taken for ${l.mode} by ${l.by} (${l.path}) while held by ${writer ? `${writer} (write)` : `${clash} (read)`}`,
                  actors: [l.by],
                  messages: [],
                };
              }
              if (l.mode === 'read') readers.push(l.by);
              else writer = l.by;
            } else if (writer === l.by) writer = null;
            else if (readers.includes(l.by)) readers.splice(readers.indexOf(l.by), 1);
          } else if (l.lock === PTL) {
            if (l.op === 'acquire') {
              if (ptl !== null) {
                return { message: `the page-table lock taken by ${l.by} (${l.path}) while held by ${ptl}`, actors: [l.by, ptl], messages: [] };
              }
              ptl = l.by;
            } else if (ptl === l.by) ptl = null;
          }
        }
        return null;
      },
    };
  },
};
