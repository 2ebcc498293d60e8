export { buildFromWorkload, vfioScopeScenario } from './scenario.ts';
export { drawWorkload } from './workload.ts';
export { vfioScopeBugs } from './variants.ts';
export * from './specs/index.ts';
export * from './types.ts';
