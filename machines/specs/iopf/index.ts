export * from './oneResponsePerLastPage.ts';
export * from './responseMatchesRequest.ts';
export * from './groupIntegrity.ts';
export * from './noStuckPartial.ts';
export * from './prqDepth.ts';
export * from './noResponseAfterRemoval.ts';
export * from './noUseAfterFree.ts';
