/**
 * A page response means what it says (PCIe PRG response codes, io-pgfault.c/iommu-sva.c):
 *
 *   SUCCESS  every fault of the group was handled, handle_mm_fault returned success for each,
 *            and when the response is sent each page is present with at least the requested
 *            access, unless a munmap/mprotect removed it after the fault was handled (told apart
 *            by step order: the zap or protect comes after the fault's last step).
 *   INVALID  from the handler (iopf_group_response after iommu_sva_handle_iopf): some fault of
 *            the group failed. err_abort (no handler attached) and iopf_queue_remove_device
 *            (outstanding faults of a departing device) answer INVALID by design.
 *   FAILURE  the group could not be handled (the abort group of a failed allocation).
 *
 * And the order: the handler's response never precedes the end of handle_mm_fault for any fault
 * of its group (a SUCCESS needs a result for every fault). Groups delivered to userspace
 * (iommufd) carry the VMM's code: the kernel only passes it on, so they are not judged here.
 *
 * Page presence is judged from the PTE events in the step records (inline and turnstile modes);
 * in free mode those events are in the threads' stamped history instead, so presence is left to
 * the mm's history check there.
 *
 * Reads: PAGE_REQ (each request's address and access), group-assembled (a group's faults),
 * RUN_GROUP / DELIVER (which handler took a group), fault-handled (handle_mm_fault's result),
 * pte-set / pte-zap / pte-protect (the page table), page-response.
 */
import { type Monitor, type Verdict, stateful } from '../../../core/model/monitor.ts';
import { pageOf } from '../../../kernel/mm/memory.ts';
import { deliveredOf, iopfObserved, sentOf } from '../observations.ts';

interface Result {
  status: 'SUCCESS' | 'INVALID';
  step: number;
  /** The group (or "prefault:<reqId>") whose handling produced it. */
  gid: string;
}

interface State {
  /** reqId -> [addr, access] of the request as the device sent it. */
  reqs: Map<string, [number, number]>;
  /** gid -> its faults' reqIds, partials in arrival order then the last. */
  groups: Map<string, string[]>;
  /** gid -> the handler that took it ('sva': a kworker ran it; 'user': delivered to iommufd). */
  handler: Map<string, 'sva' | 'user'>;
  /** reqId -> the latest handle_mm_fault result for it. */
  results: Map<string, Result>;
  /** page -> PTE protection bits (0 or absent: not present). */
  ptes: Map<number, number>;
  /** page -> the last step that removed access to it (zap, or protect dropping bits). */
  removed: Map<number, number>;
}

const HANDLER_PATH = 'iopf_group_response';

export const responseMeaning: Monitor = {
  name: 'response-means-what-it-says',
  description: 'SUCCESS only when every fault of the group was handled and its page is present with the access; INVALID only for a failed fault, no handler or removal',
  kind: 'safety',
  observes: ['PAGE_REQ', 'RUN_GROUP', 'DELIVER', 'obs:group-assembled', 'obs:fault-handled', 'obs:pte-set', 'obs:pte-zap', 'obs:pte-protect', 'obs:page-response'],
  create() {
    return stateful<State>(
      { reqs: new Map(), groups: new Map(), handler: new Map(), results: new Map(), ptes: new Map(), removed: new Map() },
      {
        onStep(st, rec): Verdict | null {
          for (const { payload: { req: r } } of sentOf(rec, 'PAGE_REQ')) st.reqs.set(r.reqId, [r.addr, r.perm]);
          const run = deliveredOf(rec, 'RUN_GROUP');
          if (run) st.handler.set(run.payload.group.gid, 'sva');
          for (const e of sentOf(rec, 'DELIVER')) st.handler.set(e.payload.group.gid, 'user');
          const blame = { actors: [rec.actor], messages: rec.delivered ? [rec.delivered.id] : [] };
          for (const o of iopfObserved(rec, 'group-assembled', 'fault-handled', 'pte-set', 'pte-zap', 'pte-protect', 'page-response')) {
            switch (o.what) {
              case 'group-assembled':
                st.groups.set(o.gid, o.reqIds);
                break;
              case 'fault-handled':
                st.results.set(o.reqId, { status: o.status, step: rec.i, gid: o.gid });
                break;
              case 'pte-set':
                st.ptes.set(pageOf(o.addr), o.prot);
                if ((o.oldProt & ~o.prot) !== 0) st.removed.set(pageOf(o.addr), rec.i);
                break;
              case 'pte-zap':
                st.ptes.delete(pageOf(o.addr));
                st.removed.set(pageOf(o.addr), rec.i);
                break;
              case 'pte-protect':
                st.ptes.set(pageOf(o.addr), o.prot);
                if ((o.oldProt & ~o.prot) !== 0) st.removed.set(pageOf(o.addr), rec.i);
                break;
              case 'page-response': {
                const v = judge(st, o.gid, o.code, o.path);
                if (v) return { message: `${o.dev}: ${o.path} answered ${o.gid} (grpid ${o.grpid}) ${o.code} ${v}`, ...blame };
                break;
              }
            }
          }
          return null;
        },
      },
    );
  },
};

/** Why answering `gid` with `code` on `path` now is wrong, or null. */
function judge(st: State, gid: string, code: string, path: string): string | null {
  const handler = st.handler.get(gid);
  if (handler === 'user') return null;
  const faults = st.groups.get(gid) ?? [];
  if (code === 'SUCCESS') {
    if (handler !== 'sva') return 'although no handler ran its faults';
    for (const id of faults) {
      const r = st.results.get(id);
      if (!r) return `before handle_mm_fault of ${id} returned (the response precedes the handling of its group's faults)`;
      if (r.status !== 'SUCCESS') {
        return `although handle_mm_fault of ${id} returned ${r.status} at step ${r.step} (${r.gid}): errors are sticky, iommu_sva_handle_iopf() answers the first failure`;
      }
      const [addr, access] = st.reqs.get(id) ?? [0, 0];
      const page = pageOf(addr);
      // A page no step ever showed a PTE event for is not judged: in the mm's free mode the
      // threads' memory events are in the stamped history (judged after the run by the mm's own
      // monitors), not in the step records; inline and turnstile file every PTE event under its
      // step, and a successful handle_mm_fault leaves one for its page.
      if (!st.ptes.has(page) && !st.removed.has(page)) continue;
      const prot = st.ptes.get(page) ?? 0;
      const since = st.removed.get(page) ?? -1;
      if ((prot & access) !== access && since <= r.step) {
        return `but page 0x${addr.toString(16)} of ${id} is ${prot ? `mapped with prot ${prot}` : 'not present'}, not ${access}, and no munmap/mprotect removed it after the fault was handled at step ${r.step}`;
      }
    }
    return null;
  }
  if (path !== HANDLER_PATH || handler !== 'sva') return null;
  // The handler's INVALID/FAILURE: some fault of the group failed (here or when handled ahead).
  if (faults.some((id) => st.results.get(id)?.status === 'INVALID')) return null;
  const open = faults.find((id) => !st.results.has(id));
  if (open) return `before handle_mm_fault of ${open} returned, and no fault of the group failed`;
  return 'although handle_mm_fault succeeded for every fault of the group';
}
