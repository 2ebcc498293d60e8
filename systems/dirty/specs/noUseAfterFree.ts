/**
 * no-use-after-free for the page tables (kernel/noUseAfterFree.ts): no use of a table
 * (`table:Tn`) after it was freed, no double free. The paths report `alloc`, `free` and every
 * `use` (a map or unmap step reading or writing a table, a split walking or installing into one).
 */
import { useAfterFreeMonitor } from '../../../kernel/noUseAfterFree.ts';

export const noUseAfterFree = useAfterFreeMonitor('a page table');
