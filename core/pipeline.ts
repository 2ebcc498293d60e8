/**
 * The per-step pipeline: the world emits each step's record once on `steps$`; everything that
 * wants steps subscribes to it (the trace hasher and writer, metrics, monitors, coverage, a thread
 * executor's history check). RxJS reports an error thrown inside a subscriber asynchronously,
 * outside the step that caused it; `subscribeStep` keeps it with the run instead, so a monitor or
 * metric that throws makes an errored run at the step where it threw.
 */
import type { Observable, Subscription } from 'rxjs';

export class StepErrors {
  first: unknown = undefined;
  failed = false;

  /** Rethrow the first error a subscriber raised (once per error). */
  check(): void {
    if (!this.failed) return;
    const e = this.first;
    this.failed = false;
    this.first = undefined;
    throw e;
  }
}

/** `next` null: only `complete` is wanted (nothing is called per step). */
export function subscribeStep<T>(source: Observable<T>, errors: StepErrors, next: ((v: T) => void) | null, complete?: () => void): Subscription {
  return source.subscribe({
    next: next === null ? undefined : (v) => {
      if (errors.failed) return;
      try {
        next(v);
      } catch (e) {
        errors.failed = true;
        errors.first = e;
      }
    },
    complete: complete
      ? () => {
          try {
            complete();
          } catch (e) {
            errors.failed = true;
            errors.first = e;
          }
        }
      : undefined,
  });
}
