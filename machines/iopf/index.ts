export * from './types.ts';
export * from './device.ts';
export * from './iommu.ts';
export * from './faultParam.ts';
export * from './workqueue.ts';
export * from './kworker.ts';
export * from './process.ts';
