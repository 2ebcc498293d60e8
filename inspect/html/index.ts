export * from './build.ts';
export * from './page.ts';
export * from './escape.ts';
