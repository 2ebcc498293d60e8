/**
 * KVM's side (arch/powerpc/kvm/book3s_64_vio.c, 6.17, virtual mode only): the guest pages that
 * hold TCE lists for H_PUT_TCE_INDIRECT. The guest writes them at any time (another vCPU); the
 * hcall reads them with get_user() twice (validate pass, map pass): no lock, a time-of-check to
 * time-of-use window by design (ddfd151f3def). kvm->srcu is in the lock table (readers).
 */
import { Facet } from './facet.ts';
import type { GuestTce } from './types.ts';

export interface KvmData {
  lists: Record<string, GuestTce[]>;
  /** The vCPUs run (QEMU started the guest after setting the machine up). */
  running: boolean;
}

export class KvmState extends Facet<KvmData> {
  readonly name = 'tce.kvm';

  constructor(lists: Record<string, GuestTce[]>) {
    super({ lists: structuredClone(lists), running: false });
  }

  /** get_user(tce, tces + i). */
  read(list: string, i: number): GuestTce | null {
    return this.d.lists[list]?.[i] ?? null;
  }

  /** The other vCPU stores into the guest page. */
  write(list: string, i: number, v: GuestTce): void {
    (this.d.lists[list] ??= [])[i] = v;
  }
}
