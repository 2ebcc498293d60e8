/**
 * A DMA-capable device behind the IOMMU. Attached to a HWPT's domain it issues DMA reads and writes
 * at IOVAs that domain maps: the IOMMU walks the domain's IOPTEs with no kernel lock, and the
 * access is snooped (coherent domain) or not (a domain that does not enforce cache coherency,
 * where the device's no-snoop TLPs bypass the CPU caches). `iommu_unmap` includes its IOTLB sync,
 * so a DMA step never uses an IOPTE after the step that removed it.
 *
 * The device detaches when told (iommufd_device_detach is synchronous: DMA steps are atomic, so
 * nothing is in flight) and replies DETACHED.
 */
import { defineKind } from '../../../core/model/kind.ts';
import type { IommufdState } from '../state/iommufd.ts';
import { STATE, SYSTEM } from '../types.ts';
import { type StepTable, type ThreadContext, buildThread, threadKind } from './stepper.ts';

export interface DeviceContext extends ThreadContext {
  /** The HWPT (domain) it is attached to. */
  domain: string | null;
  dmaLeft: number;
}

type C = DeviceContext;

const steps: StepTable<C> = {
  idle: {
    description: 'attached: a DMA read or write at an IOVA the domain maps',
    ready: (c, view) => {
      if (!c.domain || c.dmaLeft <= 0) return false;
      const d = view.shared<IommufdState>(STATE).s.domains[c.domain];
      return Boolean(d && Object.keys(d.ptes).length);
    },
    to: ['idle'],
    run(c, k) {
      const d = k.st.domain(c.domain!);
      k.st.use(d.id, `${c.id} DMA`);
      const iovas = Object.keys(d.ptes)
        .map(Number)
        .sort((a, b) => a - b);
      const iova = iovas[k.data.int(`dev:${c.id}:iova`, iovas.length)];
      const write = k.data.chance(`dev:${c.id}:write`, 0.5);
      const pte = d.ptes[iova];
      const tag = { dev: c.id, dom: d.id, nc: d.nc, iova, pages: pte.p, idx: pte.idx };
      if (write) k.cache.dmaWrite(pte.pfn, !d.nc, tag);
      else k.cache.dmaRead(pte.pfn, !d.nc, tag);
      return { to: 'idle', set: { dmaLeft: c.dmaLeft - 1 } };
    },
  },
};

export const deviceMachine = buildThread<C>({
  id: `${SYSTEM}.device`,
  steps,
  initial: 'idle',
  context: (input) => {
    const i = input as { id: string; dmaOps: number };
    return { id: i.id, domain: null, dmaLeft: i.dmaOps, held: [], opName: '', opStart: 0, l: {} };
  },
  messages: {
    ATTACH: (_c, e) => ({ set: { domain: (e as unknown as { hwpt: string }).hwpt } }),
    DETACH: (c, e) => {
      const { hwpt, from } = e as unknown as { hwpt: string; from: string };
      return { set: { domain: c.domain === hwpt ? null : c.domain }, send: [{ to: from, type: 'DETACHED', payload: { hwpt } }] };
    },
  },
});

export const deviceKind = defineKind(threadKind<C>({ kind: `${SYSTEM}.device`, machine: deviceMachine, steps }) as Parameters<typeof defineKind>[0]);
