/**
 * The one relay every inter-actor message passes through. Sending only enqueues an envelope
 * on its (from -> to) channel; channels are FIFO, like posted writes between two agents, and
 * the scheduler decides which channel head is delivered next. Observers (trace, monitors)
 * subscribe to `sent$` and `delivered$`.
 */
import { Subject } from 'rxjs';

export interface Envelope {
  /** Run-local sequence number: the n-th message sent in this run. */
  id: number;
  from: string;
  to: string;
  type: string;
  payload: Record<string, unknown>;
  /** Id of the envelope whose delivery caused this send, or null for a spontaneous step. */
  cause: number | null;
}

export class Bus {
  readonly sent$ = new Subject<Envelope>();
  readonly delivered$ = new Subject<Envelope>();
  private readonly channels = new Map<string, Envelope[]>();
  private seq = 0;
  private inFlight = 0;

  send(from: string, to: string, type: string, payload: Record<string, unknown>, cause: number | null): Envelope {
    const env: Envelope = { id: ++this.seq, from, to, type, payload, cause };
    const key = channelKey(from, to);
    let q = this.channels.get(key);
    if (!q) {
      q = [];
      this.channels.set(key, q);
    }
    q.push(env);
    this.inFlight++;
    this.sent$.next(env);
    return env;
  }

  /** Channel heads in a deterministic order (first use of the channel). */
  heads(): Envelope[] {
    const out: Envelope[] = [];
    for (const q of this.channels.values()) if (q.length > 0) out.push(q[0]);
    return out;
  }

  /** Remove the head of a channel; the caller delivers it. */
  take(from: string, to: string): Envelope {
    const q = this.channels.get(channelKey(from, to));
    const env = q?.shift();
    if (!env) throw new Error(`bus: channel ${from}->${to} is empty`);
    this.inFlight--;
    return env;
  }

  /** Messages sent and not yet delivered. */
  get pending(): number {
    return this.inFlight;
  }

  /** Every undelivered envelope, for quiescence reports. */
  undelivered(): Envelope[] {
    return [...this.channels.values()].flat();
  }

  complete(): void {
    this.sent$.complete();
    this.delivered$.complete();
  }
}

export function channelKey(from: string, to: string): string {
  return `${from}->${to}`;
}
