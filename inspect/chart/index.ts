export * from './model.ts';
export * from './dot.ts';
export * from './mermaid.ts';
export * from './json.ts';
export * from './svg.ts';
