/**
 * no-use-after-free (KASAN for the model, kernel/noUseAfterFree.ts): no use or free of an area,
 * iopt_pages, domain or object after it was freed. Objects are named (A3, P0, N, access0); paths
 * report alloc, free and every dereference that matters.
 */
import { useAfterFreeMonitor } from '../../../kernel/noUseAfterFree.ts';

export const noUseAfterFree = useAfterFreeMonitor('an area, iopt_pages, domain or object');
