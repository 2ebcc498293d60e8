export * from './strategy.ts';
export * from './random.ts';
export * from './pct.ts';
export * from './replay.ts';
export * from './make.ts';
