export * from './scenario.ts';
export * from './variants.ts';
export * from './workload.ts';
export * from './observations.ts';
export * from './machines/index.ts';
export * from './specs/index.ts';
export * from './state/index.ts';
