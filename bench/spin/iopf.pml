/*
 * The IOPF partial/group protocol (drivers/iommu/io-pgfault.c with a VT-d style page-request
 * queue) for SPIN: the baseline of issue 16. See README.md beside this file.
 *
 * Configuration (pagerace's small one): one device, 3 page request groups of 3 requests each, a
 * page-request queue (PRQ) of depth 2, 2 kworkers, group allocation that may fail.
 *
 *   spin -a iopf.pml                      the fixed kernel (abort group: partials freed, FAILURE)
 *   spin -DBUG_PARTIAL_LEAK -a iopf.pml   partial-leak-on-alloc-failure (-ENOMEM before
 *                                         cleanup_partial, answered INVALID, partials stay)
 *   -DPARTIAL_ALLOC_FAIL                  also let a partial's kzalloc fail (pagerace draws it
 *                                         too; not part of the issue's configuration)
 *   -DOUTSTANDING=N, -DPRQ_DEPTH=N        the device's allocation (8; at least 5 for this script,
 *                                         or A2 can never be sent) and the queue depth (2)
 *
 * The device's script is fixed, not drawn (see README.md): groups A (grpid 0), B (grpid 1) and
 * C (grpid 0 again, so the PRG index is reused), A and B interleaved as pagerace's workload
 * builder interleaves at most 2 open groups:
 *
 *     A0 B0 A1 B1 A2* C0 B2* C1 C2*          (* = LAST_PAGE)
 *
 * C0 may not be issued until A has been answered (no grpid reuse while its group owes an answer).
 *
 * Properties (assertions; pan also reports any invalid end state, i.e. a device left waiting):
 *  - one answer per last request: a response must match a group that owes one (no second
 *    answer), and the device ends only when every group it closed was answered (no lost answer);
 *  - group integrity: a group assembled for a last request holds no partial of an earlier group
 *    with the same grpid (stale partials swept into a later group);
 *  - no stuck partial: at quiescence no partial is left on the partial list, unless a Response
 *    Failure turned PRI off before its group's last request was sent (pagerace's exemption).
 */

#ifndef PRQ_DEPTH
#define PRQ_DEPTH 2
#endif
/* PRI Outstanding Page Request Allocation (pagerace's default; it does not bind with this script). */
#ifndef OUTSTANDING
#define OUTSTANDING 8
#endif
#define NINST 3          /* page request groups in the script (A, B, C) */
#define NREQ 9           /* requests in the script */
#define NGRP 2           /* owed groups at once: at most one per grpid, grpids 0 and 1 */

mtype = { SUCCESS, INVALID, FAILURE };

/* The script, constant (hidden: not part of the state vector). */
hidden byte sinst[NREQ];     /* group (instance) of request k */
hidden byte slast[NREQ];     /* LAST_PAGE */
hidden byte grpid[NINST];    /* PRG index of each group */

/* PCIe: the device's page requests in flight to the IOMMU (posted writes, in order). */
chan link = [OUTSTANDING] of { byte, byte, bool };   /* grpid, group (ghost), last */

/* Hardware: the page-request queue and its overflow flag (DMA_PRS_PRO). */
chan prq = [PRQ_DEPTH] of { byte, byte, bool };   /* grpid, group (ghost), last */
bool pro;

/* struct iommu_fault_param: the partial list, kept as a count per group. The kernel sees only
 * the grpid; the group is ghost information for the integrity check. */
byte npart[NINST];

/* The iopf workqueue (unbound): assembled groups, by grpid. */
chan wq = [NGRP] of { byte };

/* Page responses on their way to the device: grpid, code. */
chan resp = [NGRP] of { byte, mtype };

/* Device state (global so that the end-state check and the trail show it). */
byte next;                   /* script position */
byte outstanding;            /* requests whose group has not been answered */
byte sent[NINST];            /* requests of each group sent (credits returned on its answer) */
bool closed[NINST];          /* its last request has been sent */
bool owed[NINST];            /* closed and not answered yet */
bool priOff;                 /* a Response Failure disabled PRI */

/* Request k is held back while an earlier group with its grpid still owes an answer. */
#define reuseBlocked(k) \
  (grpid[sinst[k]] == grpid[0] && sinst[k] != 0 && owed[0] || \
   grpid[sinst[k]] == grpid[1] && sinst[k] != 1 && owed[1] || \
   grpid[sinst[k]] == grpid[2] && sinst[k] != 2 && owed[2])

#define anyOwed (owed[0] || owed[1] || owed[2])

/* The device: walks its script in order within its outstanding allocation, never reusing a
 * grpid whose group owes an answer; takes the answers (a Response Failure turns PRI off). */
proctype Device() {
  byte i, g, j;
  mtype code;
  do
  :: atomic {
       next < NREQ && !priOff && outstanding < OUTSTANDING && !reuseBlocked(next) ->
       i = sinst[next];
       sent[i]++;
       outstanding++;
       if
       :: slast[next] -> closed[i] = true; owed[i] = true
       :: else -> skip
       fi;
       link!grpid[i], i, slast[next];
       next++;
       i = 0
     }
  :: atomic {
       resp?g, code ->
       /* The answer belongs to the one group of that grpid that owes one. */
       j = 0;
       do
       :: j < NINST && !(grpid[j] == g && owed[j]) -> j++
       :: else -> break
       od;
       assert(j < NINST);                    /* a second (or unrequested) answer */
       owed[j] = false;
       outstanding = outstanding - sent[j];
       if
       :: code == FAILURE -> priOff = true   /* PCIe: Response Failure disables PRI */
       :: else -> skip
       fi;
       g = 0; j = 0; code = 0
     }
  :: atomic {
       (next == NREQ || priOff) && !anyOwed && len(link) == 0 && len(prq) == 0 && !pro ->
       /* Quiescent: every report has been made, PRO handled. No partial may be left, except of
        * a group PRI was turned off in the middle of. */
       assert(npart[0] == 0 || priOff && !closed[0]);
       assert(npart[1] == 0 || priOff && !closed[1]);
       assert(npart[2] == 0 || priOff && !closed[2]);
       break
     }
  od;
  /* Nothing more is owed: any further answer is a second one. */
end_done:
  do
  :: resp?g, code -> assert(false)
  od
}

/* The IOMMU's page-request reception (hardware): the request is written into the PRQ, or, when
 * the queue is full or PRO is already set, dropped and PRO set; a dropped last request is
 * answered by the hardware itself (SUCCESS). */
proctype Prq() {
  byte g, i;
  bool last;
end_idle:
  do
  :: atomic {
       link?g, i, last ->
       if
       :: !pro && len(prq) < PRQ_DEPTH -> prq!g, i, last
       :: else ->
          pro = true;
          if
          :: last -> resp!g, SUCCESS
          :: else -> skip
          fi
       fi;
       g = 0; i = 0; last = false
     }
  od
}

/* The page-request thread (prq_event_thread) reporting each request through
 * iommu_report_device_fault(); it clears PRO only on an empty queue, after
 * iopf_queue_discard_partial(). A last request is two steps, as in the kernel: the group is
 * assembled under fault_param->lock (iopf_group_alloc(), which may fail), then, with the lock
 * dropped, handed to the handler (queue_work()) or answered on the abort path. */
proctype Reporter() {
  byte g, i, j;
  bool last;
  mtype act;                                 /* what the second step does: SUCCESS = queue_work */
end_idle:
  do
  :: atomic {
       prq?g, i, last ->
       if
       :: !last ->                           /* report_partial_fault(): onto the partial list */
#ifdef PARTIAL_ALLOC_FAIL
          if
          :: npart[i]++
          :: skip                            /* its kzalloc fails: the request is lost (dev_err) */
          fi
#else
          npart[i]++
#endif
       :: else ->
          /* Group integrity: the partials of this grpid are this group's. */
          j = 0;
          do
          :: j < NINST -> assert(j == i || grpid[j] != g || npart[j] == 0); j++
          :: else -> break
          od;
          if
          :: act = SUCCESS                   /* iopf_group_alloc() succeeds */
          :: act = FAILURE                   /* kzalloc fails: the abort group */
          fi;
#ifdef BUG_PARTIAL_LEAK
          if
          :: act == FAILURE -> act = INVALID /* -ENOMEM before cleanup_partial: partials stay */
          :: else ->
#endif
             j = 0;                          /* the partials of grpid g move into the group */
             do
             :: j < NINST -> if :: grpid[j] == g -> npart[j] = 0 :: else -> skip fi; j++
             :: else -> break
             od
#ifdef BUG_PARTIAL_LEAK
          fi
#endif
       fi;
       i = 0; j = 0
     };
     if
     :: last ->
        atomic {
          if
          :: act == SUCCESS -> wq!g          /* iommu_sva_iopf_handler(): queue_work() */
          :: else -> resp!g, act             /* err_abort: FAILURE; the bug: the driver's INVALID */
          fi;
          g = 0; last = false; act = 0
        }
     :: else -> g = 0
     fi
  :: atomic {
       len(prq) == 0 && pro ->
       npart[0] = 0; npart[1] = 0; npart[2] = 0;   /* iopf_queue_discard_partial() */
       pro = false
     }
  od
}

/* A kworker: iommu_sva_handle_iopf() on one group, then iopf_group_response() and
 * iopf_free_group(). handle_mm_fault is abstracted (pages=1, no mm operations): SUCCESS. */
proctype Kworker() {
  byte g;
end_idle:
  do
  :: wq?g ->
     resp!g, SUCCESS;
     g = 0
  od
}

init {
  d_step {
    grpid[0] = 0; grpid[1] = 1; grpid[2] = 0;
    /* A0 B0 A1 B1 A2* C0 B2* C1 C2* */
    sinst[0] = 0; sinst[1] = 1; sinst[2] = 0; sinst[3] = 1; sinst[4] = 0;
    sinst[5] = 2; sinst[6] = 1; sinst[7] = 2; sinst[8] = 2;
    slast[4] = true; slast[6] = true; slast[8] = true
  };
  atomic {
    run Device();
    run Prq();
    run Reporter();
    run Kworker();
    run Kworker()
  }
}
