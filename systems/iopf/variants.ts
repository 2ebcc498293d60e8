/**
 * Historical IOPF bugs, each a named variant that substitutes named guards of the fixed machines
 * (`provide`, by actor kind, applied with xstate's `machine.provide`): the machines know no
 * variant; each guard's comment in its machine names the variant that substitutes it.
 * docs/iopf.md tells for each: what it is, the interleaving or fault that shows it, and the fix.
 */
import type { BugVariant } from '../../core/model/scenario.ts';

export const iopfBugs: BugVariant[] = [
  {
    name: 'partial-leak-on-alloc-failure',
    summary:
      'group allocation fails on the last request and the report path returns -ENOMEM without freeing the partials of that grpid: they stay on the partial list and are swept into the next group that reuses the grpid',
    reference: 'linux-arm-kernel thread "[PATCH v13 06/10] iommu: Add a page fault handler" (cleanup_partial in iommu_queue_iopf)',
    caughtBy: ['no-stuck-partial', 'group-integrity'],
    provide: { 'iopf.faultParam': { guards: { cleansUpPartialsOnAllocFailure: () => false } } },
  },
  {
    name: 'no-response-without-handler',
    summary: 'a last-page request for a PASID with no domain/iopf_handler attached is freed without a page response, so the device waits forever',
    reference: 'kernel commit b58b133e680b',
    caughtBy: ['one-response-per-last-page'],
    provide: { 'iopf.faultParam': { guards: { answersWithoutHandler: () => false } } },
  },
  {
    name: 'response-after-removal',
    summary:
      'iopf_group_response() answers without checking that the group is still pending, so a kworker finishing after iopf_queue_remove_device() answers a group removal already answered INVALID, after the device is gone',
    reference: 'kernel commit 19911232713573 (only send a response if there is a fault report pending)',
    caughtBy: ['one-response-per-last-page', 'no-response-after-removal'],
    provide: { 'iopf.faultParam': { guards: { respondsOnlyIfPending: () => false } } },
  },
  {
    name: 'fault-param-freed-on-removal',
    summary:
      'iopf_queue_remove_device() frees the fault parameter outright while queued groups still point at it; the kworker then takes fault_param->lock in freed memory',
    reference: 'kernel commits cc7338e9d807 and a74c077b9021 (refcount the fault parameter, put it from iopf_free_group)',
    caughtBy: ['no-use-after-free'],
    provide: { 'iopf.faultParam': { guards: { refcountsParam: () => false } } },
  },
  {
    name: 'response-missing-pasid',
    summary: 'the page response never sets IOMMU_PAGE_RESP_PASID_VALID, so a function that requires the PASID in PRG responses cannot match it',
    reference: 'io-pgfault.c iopf_group_response(): PASID_VALID when the request has PASID_VALID and NEEDS_PASID',
    caughtBy: ['response-matches-request'],
    provide: { 'iopf.faultParam': { guards: { responseCarriesPasid: () => false } } },
  },
  {
    name: 'removal-leaves-pending',
    summary:
      'iopf_queue_remove_device() frees the partials and unlinks the device but does not acknowledge outstanding groups; they are answered later by the kworker, after the device was removed, or never',
    reference: 'kernel commit 0095bf83554f (iommu: Improve iopf_queue_remove_device(): respond INVALID to all outstanding faults)',
    caughtBy: ['no-response-after-removal', 'one-response-per-last-page'],
    provide: { 'iopf.faultParam': { guards: { removalAnswersPending: () => false } } },
  },
  {
    name: 'removal-without-prq-drain',
    summary:
      'the device is removed from the iopf queue while its requests are still in the page-request queue; the page-request thread then reports them against a device (fault parameter) already released',
    reference: 'kernel commit def054b01a86, CVE-2024-35843 (iommu/vt-d: device lookup in the iopf reporting path vs device release)',
    caughtBy: ['no-use-after-free', 'one-response-per-last-page'],
    provide: { 'iopf.iommu': { guards: { deviceDrained: () => true } } },
  },
  {
    name: 'overflow-cleared-too-early',
    summary:
      'PRO is cleared and the partials discarded while requests are still in the page-request queue: partials of groups whose last request overflowed are reported after the discard and stay, stale',
    reference: 'VT-d prq_event_thread(): PRO is cleared only when head == tail, after iopf_queue_discard_partial()',
    caughtBy: ['group-integrity', 'no-stuck-partial'],
    provide: { 'iopf.iommu': { guards: { overflowClearable: () => true } } },
  },
  {
    name: 'partials-kept-after-overflow',
    summary:
      'PRO is cleared without iopf_queue_discard_partial(): partials of groups whose last request was lost to the overflow stay on the list and are swept into a later group with the same grpid',
    reference: 'VT-d prq_event_thread() before iopf_queue_discard_partial() was added to the PRO clear (iommu list, VT-d conversion to the io-pgfault helpers, 2021)',
    caughtBy: ['group-integrity', 'no-stuck-partial'],
    provide: { 'iopf.iommu': { guards: { discardsPartialsOnOverflow: () => false } } },
  },
  {
    name: 'stop-marker-answered',
    summary: 'the page-request thread reports a PASID Stop Marker (LRW=100) as a page request, so the device receives a response nobody asked for',
    reference: 'io-pgfault.c iommu_handle_iopf() comment: IOMMU drivers must discard Stop Markers before reporting (VT-d: "Drop Stop Marker message")',
    caughtBy: ['response-matches-request', 'one-response-per-last-page'],
    provide: { 'iopf.iommu': { guards: { dropsStopMarkers: () => false } } },
  },
  {
    name: 'priv-data-not-answered',
    summary:
      'a VT-d page request with private data that is not the last of its group is reported as a partial: it gets no response (VT-d requires one) and is swept into the group',
    reference: 'seed thread (Jacob Pan: "VT-d also needs to send page response before the last one ... treat the request with data as LPIG"); VT-d intel_prq_report() sets LAST_PAGE for private data',
    caughtBy: ['group-integrity', 'one-response-per-last-page'],
    provide: { 'iopf.iommu': { guards: { reportsPrivDataAsLast: () => false } } },
  },
  {
    name: 'discard-lock-inversion',
    summary:
      'iopf_queue_discard_partial() takes fault_param->lock before queue->lock, the reverse of iopf_queue_remove_device(): an ABBA deadlock between overflow recovery and device removal',
    reference: 'lock order documented by iopf_queue_remove_device()/iopf_queue_discard_partial() (queue->lock, then param locks); a deliberate inversion for lockdep',
    caughtBy: ['lockdep'],
    provide: { 'iopf.faultParam': { guards: { discardTakesQueueLockFirst: () => false } } },
  },
  {
    name: 'pasid-freed-without-drain',
    summary:
      'unbind stops the device and detaches the PASID without draining the page-request queue or flushing the workqueue; faults of the old address space are then handled in the next binding, or touch the freed domain',
    reference: 'io-pgfault.c iopf_queue_flush_dev() comment and VT-d intel_drain_pasid_prq(): drain and flush before the PASID is freed',
    caughtBy: ['pasid-not-reused-while-queued', 'no-use-after-free'],
    provide: { 'iopf.pasidDriver': { guards: { skipsDrain: () => true } } },
  },
  {
    name: 'flush-before-stop',
    summary:
      'unbind flushes the iopf workqueue before stopping the device on the PASID: faults reported after the flush are still queued when the domain is detached and freed',
    reference: 'io-pgfault.c iopf_queue_flush_dev(): "The driver must make sure that no new fault is added to the queue"',
    caughtBy: ['no-use-after-free', 'pasid-not-reused-while-queued'],
    provide: { 'iopf.pasidDriver': { guards: { flushesFirst: () => true } } },
  },
  {
    name: 'iommufd-deliver-under-mutex',
    summary:
      "the iommufd iopf handler takes fault->mutex to add to the deliver list, but read() holds that mutex across copy_to_user: userspace paging stalls the page-request thread and every device's fault handling",
    reference: 'kernel commit 3d49020a327c (iommufd/fault: Use a separate spinlock to protect fault->deliver list)',
    caughtBy: ['lockdep'],
    provide: { 'iopf.iommufdFault': { guards: { deliverUnderSpinlock: () => false } } },
  },
  {
    name: 'iommufd-destroy-skips-response',
    summary: 'iommufd_fault_destroy() answers the deliver list but neither walks nor destroys the response xarray, nor destroys the mutex',
    reference: 'kernel commit 3f4818ec1390 (iommufd/fault: Destroy response and mutex in iommufd_fault_destroy())',
    caughtBy: ['no-leak-on-destroy'],
    provide: { 'iopf.iommufdFault': { guards: { destroyReleasesResponses: () => false } } },
  },
];
