export * from './thread.ts';
export * from './vmm.ts';
export * from './hotplug.ts';
export * from './dev.ts';
export * from './splitter.ts';
