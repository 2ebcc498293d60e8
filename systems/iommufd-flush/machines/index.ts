export * from './ops.ts';
export * from './stepper.ts';
export * from './vmm.ts';
export * from './access.ts';
export * from './device.ts';
export * from './cpu.ts';
