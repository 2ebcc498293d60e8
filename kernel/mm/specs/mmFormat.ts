/** How the mm monitors print addresses, protections and VMAs in their messages. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function protName(prot: number): string {
  return `${prot & 1 ? 'r' : '-'}${prot & 2 ? 'w' : '-'}`;
}

export interface VmaView {
  start: number;
  end: number;
  prot: number;
}

export function vmaName(id: number, v: VmaView): string {
  return `vma#${id} [${hex(v.start)}-${hex(v.end)}) ${protName(v.prot)}`;
}
