/**
 * Kernel data that travels between the IOPF actors. Field names follow
 * struct iommu_fault_page_request / struct iommu_page_response.
 */

export type RespCode = 'SUCCESS' | 'INVALID' | 'FAILURE';

/**
 * A PRI page request, an SMMU stall event (transport 'stall': every event is its own group and
 * grpid is the stall tag), a PASID Stop Marker (LRW=100: never answered), or an unrecoverable
 * DMA fault report.
 */
export interface PageRequest {
  /** Unique per run: "<dev>#<n>". Not a kernel field: lets monitors match request and response. */
  reqId: string;
  dev: string;
  kind: 'page-req' | 'unrecoverable' | 'stop-marker';
  transport: 'pri' | 'stall';
  /** Which binding of the PASID the device issued it under (monitor-only, not a kernel field). */
  bond: number;
  pasid: number;
  /** IOMMU_FAULT_PAGE_REQUEST_PASID_VALID */
  pasidValid: boolean;
  grpid: number;
  addr: number;
  /** PROT_READ | PROT_WRITE bits the device asked for. */
  perm: number;
  /** IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE */
  last: boolean;
  /** IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA (VT-d: such a request is answered too, as a last page). */
  privData: boolean;
  /** IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID */
  needsPasid: boolean;
}

export interface PageResponse {
  dev: string;
  grpid: number;
  /** Present exactly when IOMMU_PAGE_RESP_PASID_VALID is set. */
  pasid?: number;
  code: RespCode;
  /** Set when the IOMMU answered by itself (page-request queue overflow). */
  auto?: boolean;
  /** SMMU stall: CMD_RESUME with RETRY (SUCCESS) or ABORT (anything else). */
  resume?: 'RETRY' | 'ABORT';
}

/**
 * struct iopf_group. `faults` holds the partials in arrival order, then the last fault.
 * Owned by the fault parameter's report path until queued, then by the kworker that runs it;
 * freed by iopf_free_group() after the response. Holds one reference on the fault parameter.
 */
export interface IopfGroup {
  /** Object name used by the heap monitor: "group:<dev>#<n>". */
  gid: string;
  dev: string;
  faults: PageRequest[];
  /** The abort group on the stack of iommu_report_device_fault() when allocation failed. */
  abort: boolean;
  /** group->attach_handle->domain, looked up by the report path: "domain:<dev>:pasid<P>#<gen>". */
  domain?: string;
  /** deferred=false: a single partial handled ahead of its group; answered by nobody. */
  prefault?: boolean;
  /** Faults already handled ahead (deferred=false) with SUCCESS: skipped by the group. */
  skip?: string[];
  /** Status already known before running (a partial handled ahead failed). */
  preset?: 'INVALID';
}

/** Whether a request needs an answer: the last of a group, or VT-d's private-data request. */
export function needsResponse(r: PageRequest): boolean {
  return r.kind === 'page-req' && (r.last || r.privData);
}

/** The response the kernel builds for the last request of a group (iopf_group_response). */
export function responseFor(r: PageRequest, code: RespCode, opts: { dropPasid?: boolean } = {}): PageResponse {
  const resp: PageResponse = { dev: r.dev, grpid: r.grpid, code };
  if (r.pasidValid && r.needsPasid && !opts.dropPasid) resp.pasid = r.pasid;
  // arm_smmu_page_response(): a stall is resumed with RETRY on success, ABORT otherwise.
  if (r.transport === 'stall') resp.resume = code === 'SUCCESS' ? 'RETRY' : 'ABORT';
  return resp;
}

/** The SVA/iommufd domain object a handle generation stands for (heap monitor name). */
export function domainName(dev: string, pasid: number, gen: number): string {
  return `domain:${dev}:pasid${pasid}#${gen}`;
}
