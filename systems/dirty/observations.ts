/**
 * What the `dirty` threads report, typed (core/model/observations.ts). Every observation also
 * carries `actor` (the stepping actor) and `seq` (its order in the step, shared with lock events).
 * IOVA values are model pages; `op` is the id of the ioctl or split it belongs to ("vmm#3").
 */
import type { HeapObservations } from '../../core/model/observations.ts';

export interface DirtyObsMap extends HeapObservations {
  /** An ioctl (MAP, UNMAP, GET, SET), an in-kernel partial unmap, or a split begins / ends. */
  'op-begin': { op: string; id: string; iova?: number; pages?: number; noClear?: boolean; enable?: boolean; thread?: string };
  'op-end': { op: string; id: string; rc: number };
  /** Area tree and area->pages changes (under iova_rwsem write). */
  area: { area: string; event: 'insert' | 'publish' | 'pages-null' | 'remove'; iova: number; pages: number; pa: number };
  /** The VMM gives an area up (userspace): device writes to it are no longer owed to migration. */
  revoke: { area: string; iova: number; pages: number };
  tracking: { on: boolean };
  /** A software descriptor store. `dirty` = the stored descriptor is a writable-dirty leaf. */
  'pte-write': { table: string; idx: number; lvl: number; start: number; size: number; kind: 'map' | 'clear' | 'nT' | 'split-fill' | 'table-init'; op: string; before: string; after: string; dirty: boolean };
  /** An unmap clears a leaf or a table (with what was dirty under it). */
  'pte-clear': { table: string; idx: number; lvl: number; start: number; size: number; kind: 'leaf' | 'table'; op: string; dirtyPages: number[] };
  'table-alloc': { table: string; ok: boolean; by: string; op: string; slot?: { table: string; idx: number } };
  'table-free': { table: string; by: string };
  /** cmpxchg of a table into a slot: `replaced` says what was there (an empty slot, or a live block). */
  'install-table': { table: string; idx: number; lvl: number; start: number; size: number; replaced: 'none' | 'block'; ok: boolean; bbml: number; oldNT: boolean; tlbHasOld: boolean; newTable: string; op: string };
  'tlb-fill': { base: number; size: number; pa: number; writable: boolean; dirty: boolean; src: string };
  /** Hardware marks a cached entry dirty (after its RMW on `src`). */
  'tlb-dirty': { base: number; src: string };
  tlbi: { kind: 'range' | 'all' | 'noop'; start?: number; end?: number; removed: number[]; op: string; reason?: string };
  /** The HTTU dirty-state update: an atomic RMW clearing AP_RDONLY (bit 7) of the descriptor at `table[idx]`. */
  'hw-dirty': { table: string; idx: number; start: number; size: number; target: 'leaf' | 'table' | 'invalid'; blind: boolean };
  /** A completed DMA access: its translation. */
  translate: { page: number; pa: number; writable: boolean; via: string };
  'dma-write': { page: number; pa: number; via: string; span: [number, number]; src: string };
  'dma-fault': { page: number; reason: 'translation' | 'permission' };
  /** One io_pgtable_visit() of the dirty walker. */
  'dirty-visit': {
    op: string;
    table: string;
    idx: number;
    lvl: number;
    kind: 'leaf' | 'table' | 'inv';
    pte: string;
    start: number;
    size: number;
    addr: number;
    tested: boolean;
    wasDirty: boolean;
    recorded: [number, number] | null;
    cleared: boolean;
    dropped: number;
    noClear: boolean;
  };
  'bitmap-pin': { op: string; firstPage: number; npages: number; ok: boolean };
  /** Bits [bit, bit+n) relative to the bitmap's bit 0 written into the user buffer. */
  'bitmap-set': { op: string; bit: number; n: number; nbits: number };
  'set-ahead': { op: string; len: number };
  /** GET_DIRTY_BITMAP returns: the IOVA pages whose bits are set, the records made, pin counts. */
  'get-return': {
    op: string;
    rc: number;
    iova: number;
    pages: number;
    noClear: boolean;
    bits: number[];
    records: [number, number][];
    pins: number;
    crossings: number;
    windows: number;
    outside: number[];
    nbits: number;
    cause: string;
  };
  'migration-abort': { reason: string };
  'split-step': { op: string; phase: string; iova: number; lvl: number; thread: string };
  'split-return': { op: string; requested: number; split: number };
  'split-refused': { op: string; reason: string };
  'unmap-refused': { op: string; iova: number; pages: number; leaf: number };
  /** A GFP_KERNEL allocation (lockdep: must not run under a spinlock). */
  'might-sleep': { path: string; thread?: string };
  /** Some page is covered by a stale TLB entry or an nT block (the transitionalSteps cost). */
  transitional: { on: boolean };
  quiesce: Record<string, never>;
}
