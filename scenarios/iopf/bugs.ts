/**
 * Historical IOPF bugs, each a named variant the machines switch on through their `bug` input.
 * docs/iopf.md tells for each: what it is, the interleaving or fault that shows it, and the fix.
 */
import type { BugVariant } from '../types.ts';

export const iopfBugs: BugVariant[] = [
  {
    name: 'partial-leak-on-alloc-failure',
    summary:
      'group allocation fails on the last request and the report path returns -ENOMEM without freeing the partials of that grpid: they stay on the partial list and are swept into the next group that reuses the grpid',
    reference: 'linux-arm-kernel thread "[PATCH v13 06/10] iommu: Add a page fault handler" (cleanup_partial in iommu_queue_iopf)',
    caughtBy: ['no-stuck-partial', 'group-integrity'],
  },
  {
    name: 'no-response-without-handler',
    summary:
      'a last-page request for a PASID with no domain/iopf_handler attached is freed without a page response, so the device waits forever',
    reference: 'kernel commit b58b133e680b',
    caughtBy: ['one-response-per-last-page'],
  },
  {
    name: 'response-after-removal',
    summary:
      'iopf_group_response() answers without checking that the group is still pending, so a kworker finishing after iopf_queue_remove_device() answers a group removal already answered INVALID, after the device is gone',
    reference: 'kernel commit 19911232713573 (only send a response if there is a fault report pending)',
    caughtBy: ['one-response-per-last-page'],
  },
  {
    name: 'fault-param-freed-on-removal',
    summary:
      'iopf_queue_remove_device() frees the fault parameter outright while queued groups still point at it; the kworker then takes fault_param->lock in freed memory',
    reference: 'kernel commits cc7338e9d807 and a74c077b9021 (refcount the fault parameter, put it from iopf_free_group)',
    caughtBy: ['no-use-after-free'],
  },
  {
    name: 'response-missing-pasid',
    summary:
      'the page response never sets IOMMU_PAGE_RESP_PASID_VALID, so a function that requires the PASID in PRG responses cannot match it',
    reference: 'kernel io-pgfault.c: iopf_group_response() sets PASID_VALID when the request has PASID_VALID and NEEDS_PASID',
    caughtBy: ['response-matches-request'],
  },
];
