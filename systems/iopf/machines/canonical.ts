/**
 * A kind's canonical form for the world hash (ActorKind.canonical): its state value and its
 * context without the fields that only count (statistics for metrics), so two states that differ
 * only in how much work led to them hash equal.
 */
export function withoutStatistics<C extends object>(snap: { value: unknown; context: C }, statistics: readonly (keyof C)[]): unknown {
  const context: Partial<C> = { ...snap.context };
  for (const f of statistics) delete context[f];
  return [snap.value, context];
}
