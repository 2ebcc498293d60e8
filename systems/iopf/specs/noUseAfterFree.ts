/**
 * KASAN for the model (kernel/noUseAfterFree.ts): no use of a group or fault parameter after it
 * was freed, and no double free. Objects are named ("group:dev0#3", "fault_param:dev0"); the
 * machines report alloc, free and every dereference.
 */
import { useAfterFreeMonitor } from '../../../kernel/noUseAfterFree.ts';

export const noUseAfterFree = useAfterFreeMonitor('a group or fault parameter');
