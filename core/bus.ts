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

/** One (from -> to) FIFO; its key is the scheduler's name for delivering its head. */
export interface Channel {
  key: string;
  queue: Envelope[];
}

export class Bus {
  readonly sent$ = new Subject<Envelope>();
  readonly delivered$ = new Subject<Envelope>();
  private readonly channels = new Map<string, Channel>();
  /** The channels in order of first use: the order heads are offered in. */
  private readonly channelList: Channel[] = [];
  private seq = 0;
  private inFlight = 0;

  send(from: string, to: string, type: string, payload: Record<string, unknown>, cause: number | null): Envelope {
    const env: Envelope = { id: ++this.seq, from, to, type, payload, cause };
    const key = channelKey(from, to);
    let ch = this.channels.get(key);
    if (!ch) {
      ch = { key, queue: [] };
      this.channels.set(key, ch);
      this.channelList.push(ch);
    }
    ch.queue.push(env);
    this.inFlight++;
    this.sent$.next(env);
    return env;
  }

  /** Channels with a message waiting, in a deterministic order (first use of the channel). */
  openChannels(): Channel[] {
    return this.channelList.filter((ch) => ch.queue.length > 0);
  }

  /** Channel heads, in the order of openChannels. */
  heads(): Envelope[] {
    return this.openChannels().map((ch) => ch.queue[0]);
  }

  /** Remove the head of a channel; the caller delivers it. */
  take(from: string, to: string): Envelope {
    const env = this.channels.get(channelKey(from, to))?.queue.shift();
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
    return this.channelList.flatMap((ch) => ch.queue);
  }

  complete(): void {
    this.sent$.complete();
    this.delivered$.complete();
  }
}

export function channelKey(from: string, to: string): string {
  return `${from}->${to}`;
}
