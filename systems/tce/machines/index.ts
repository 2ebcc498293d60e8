export * from './interp.ts';
export * from './common.ts';
export * from './user.ts';
export * from './vcpu.ts';
export * from './dev.ts';
export * from './dma.ts';
export * from './rcu.ts';
export * from './nvgpu.ts';
