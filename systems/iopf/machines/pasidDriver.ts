/**
 * The device driver's PASID teardown and rebind (iommu_sva_unbind_device() then a new bind; for
 * an iommufd device, the HWPT detach then a new attach), in the order the kernel requires before
 * a PASID may be reused:
 *   1. stop the device's DMA on the PASID (its stop completes behind its page requests),
 *   2. drain the page-request queue of the PASID (and fence the report path),
 *   3. flush the iopf workqueue (iopf_queue_flush_dev),
 *   4. detach the handle (the domain, and the mm bond, are freed); for iommufd, answer what the
 *      fault object still holds for the device (iommufd_auto_response_faults),
 *   5. SVA: attach the next binding and let the device resume; iommufd: the device stays
 *      detached and the VMM may destroy its fault object.
 * A stop refused by an unplugging device abandons the teardown.
 *
 * Ownership: the driver owns the PASID's binding generation; the attach handle itself lives in
 * the fault parameter (under the group mutex in the kernel).
 */
import { assign, enqueueActions, setup } from 'xstate';
import { effectActions } from '../../../core/model/effects.ts';
import { defineKind } from '../../../core/model/kind.ts';

export interface PasidDriverContext {
  id: string;
  dev: string;
  pasid: number;
  handler: 'sva' | 'iommufd';
  iommu: string;
  faultParam: string;
  wq: string;
  iommufd: string;
  gen: number;
  rebinds: number;
}

export type PasidDriverInput = Omit<PasidDriverContext, 'gen'>;

type PasidDriverEvent =
  | { type: 'UNBIND' }
  | { type: 'PASID_STOPPED' }
  | { type: 'STOP_FAILED' }
  | { type: 'PASID_DRAINED' }
  | { type: 'FLUSHED' }
  | { type: 'HANDLE_DETACHED' }
  | { type: 'AUTO_RESPONDED' }
  | { type: 'HANDLE_ATTACHED' };

const to = (target: keyof Pick<PasidDriverContext, 'dev' | 'iommu' | 'faultParam' | 'wq' | 'iommufd'>, type: string, payload: (c: PasidDriverContext) => Record<string, unknown> = () => ({})) => ({
  type: 'send' as const,
  params: ({ context }: { context: PasidDriverContext }) => ({ to: context[target], type, payload: payload(context) }),
});

const stopDevice = to('dev', 'STOP_PASID');
const drain = to('iommu', 'DRAIN_PASID', (c) => ({ dev: c.dev, pasid: c.pasid }));
const flush = to('wq', 'FLUSH', (c) => ({ from: c.id }));
const detach = to('faultParam', 'DETACH_HANDLE', (c) => ({ pasid: c.pasid, driver: c.id }));
const autoRespond = to('iommufd', 'AUTO_RESPONSE', (c) => ({ dev: c.dev, driver: c.id }));
const resume = to('dev', 'RESUME', (c) => ({ bond: c.gen }));

export const pasidDriverMachine = setup({
  types: {
    context: {} as PasidDriverContext,
    events: {} as PasidDriverEvent,
    input: {} as PasidDriverInput,
  },
  actions: {
    ...effectActions,
    attachNext: enqueueActions(({ context: c, enqueue }) => {
      enqueue({ type: 'send', params: { to: c.faultParam, type: 'ATTACH_HANDLE', payload: { pasid: c.pasid, gen: c.gen + 1, handler: c.handler, driver: c.id } } });
      enqueue(assign({ gen: c.gen + 1, rebinds: c.rebinds - 1 }));
    }),
  },
  guards: {
    /** Unbind detaches without draining the PASID or flushing (pasid-freed-without-drain). */
    skipsDrain: () => false,
    /** Unbind flushes the workqueue before stopping the device (flush-before-stop). */
    flushesFirst: () => false,
    isIommufd: ({ context }) => context.handler === 'iommufd',
  },
}).createMachine({
  id: 'iopf.pasidDriver',
  context: ({ input }) => ({ ...input, gen: 0 }),
  initial: 'bound',
  states: {
    bound: {
      on: {
        UNBIND: [
          { guard: 'flushesFirst', target: 'earlyFlush', actions: flush },
          { target: 'stopping', actions: stopDevice },
        ],
      },
    },
    /** flush-before-stop: the workqueue is flushed while the device still faults. */
    earlyFlush: {
      on: { FLUSHED: { target: 'stopping', actions: stopDevice } },
    },
    stopping: {
      on: {
        PASID_STOPPED: [
          { guard: 'skipsDrain', target: 'detaching', actions: detach },
          { guard: 'flushesFirst', target: 'detaching', actions: detach },
          { target: 'draining', actions: drain },
        ],
        STOP_FAILED: 'abandoned',
      },
    },
    draining: {
      on: { PASID_DRAINED: { target: 'flushing', actions: flush } },
    },
    flushing: {
      on: { FLUSHED: { target: 'detaching', actions: detach } },
    },
    detaching: {
      on: {
        HANDLE_DETACHED: [
          { guard: 'isIommufd', target: 'autoResponding', actions: autoRespond },
          { target: 'attaching', actions: 'attachNext' },
        ],
      },
    },
    /**
     * iommufd: answer INVALID to whatever the fault object still holds for the device. The VMM
     * detaches for good (no new HWPT): the device stays stopped and the fault object may go.
     */
    autoResponding: {
      on: { AUTO_RESPONDED: { target: 'detached', actions: to('iommufd', 'IDEV_DETACHED', (c) => ({ dev: c.dev })) } },
    },
    detached: { type: 'final' },
    attaching: {
      on: { HANDLE_ATTACHED: { target: 'bound', actions: resume } },
    },
    /** The device went away while we tried to stop it. */
    abandoned: { type: 'final' },
  },
});

export const pasidDriverKind = defineKind({
  kind: 'iopf.pasidDriver',
  machine: pasidDriverMachine,
  offers(snap) {
    return snap.value === 'bound' && snap.context.rebinds > 0 ? [{ event: { type: 'UNBIND' } }] : [];
  },
});
