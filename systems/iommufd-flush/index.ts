export * from './types.ts';
export * from './machines/index.ts';
export * from './specs/index.ts';
export * from './state/iommufd.ts';
export * from './variants.ts';
export * from './workload.ts';
export * from './scenario.ts';
