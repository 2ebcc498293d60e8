export * from './pgtable.ts';
export * from './tlb.ts';
export * from './iopt.ts';
export * from './ubuf.ts';
