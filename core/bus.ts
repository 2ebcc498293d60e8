/**
 * The one relay every inter-actor message passes through. Sending only enqueues an envelope on its
 * (from -> to) channel; channels are FIFO, like posted writes between two agents, and the scheduler
 * decides which channel head is delivered next.
 */
import type { EventObject } from 'xstate';
import type { Envelope } from './model/monitor.ts';

export type { Envelope };

/** One (from -> to) FIFO; its key is the scheduler's name for delivering its head. */
export interface Channel {
  key: string;
  queue: Envelope[];
  /** The head envelope as the receiver's event ({ type, ...payload }), made once per head. */
  head?: EventObject;
}

/** The bus as data: the message counter and every channel in order of first use. */
export interface BusSnapshot {
  seq: number;
  channels: { key: string; queue: Envelope[] }[];
}

export class Bus {
  private readonly channels = new Map<string, Channel>();
  /** The same channels by sender, then receiver: found without building the key. */
  private readonly byEnds = new Map<string, Map<string, Channel>>();
  /** The channels in order of first use: the order heads are offered in. */
  private channelList: Channel[] = [];
  private seq = 0;
  private inFlight = 0;

  send(from: string, to: string, type: string, payload: Record<string, unknown>, cause: number | null): Envelope {
    const env: Envelope = { id: ++this.seq, from, to, type, payload, cause };
    let ends = this.byEnds.get(from);
    if (ends === undefined) this.byEnds.set(from, (ends = new Map()));
    let ch = ends.get(to);
    if (ch === undefined) {
      // First send on this channel since the bus was made or restored.
      const key = channelKey(from, to);
      ch = this.channels.get(key);
      if (ch === undefined) {
        ch = { key, queue: [], head: undefined };
        this.channels.set(key, ch);
        this.channelList.push(ch);
      }
      ends.set(to, ch);
    }
    ch.queue.push(env);
    this.inFlight++;
    return env;
  }

  /** Channels with a message waiting, in a deterministic order (first use of the channel). */
  openChannels(): Channel[] {
    return this.channelList.filter((ch) => ch.queue.length > 0);
  }

  /** Every channel in order of first use, empty ones too (the world skips those without allocating). */
  get allChannels(): readonly Channel[] {
    return this.channelList;
  }

  /** The channel's head as its receiver's event: the same object until the head is taken. */
  headEvent(ch: Channel): EventObject {
    if (ch.head === undefined) {
      const env = ch.queue[0];
      ch.head = { type: env.type, ...env.payload };
    }
    return ch.head;
  }

  /** Remove the head of a channel (one `openChannels` or `allChannels` gave); the caller delivers it. */
  takeHead(ch: Channel): Envelope {
    const env = ch.queue.shift();
    if (!env) throw new Error(`bus: channel ${ch.key} is empty`);
    ch.head = undefined;
    this.inFlight--;
    return env;
  }

  /** Remove the head of a channel; the caller delivers it. */
  take(from: string, to: string): Envelope {
    const ch = this.channels.get(channelKey(from, to));
    if (!ch || ch.queue.length === 0) throw new Error(`bus: channel ${from}->${to} is empty`);
    return this.takeHead(ch);
  }

  /** Messages sent and not yet delivered. */
  get pending(): number {
    return this.inFlight;
  }

  /** Every undelivered envelope, for quiescence reports. */
  undelivered(): Envelope[] {
    return this.channelList.flatMap((ch) => ch.queue);
  }

  /** Envelopes are never changed once sent, so the queues' arrays are copied, not the envelopes. */
  snapshot(): BusSnapshot {
    return { seq: this.seq, channels: this.channelList.map((ch) => ({ key: ch.key, queue: [...ch.queue] })) };
  }

  restore(s: BusSnapshot): void {
    this.seq = s.seq;
    this.channels.clear();
    this.byEnds.clear();
    this.channelList = s.channels.map((c) => ({ key: c.key, queue: [...c.queue], head: undefined }));
    this.inFlight = 0;
    for (const ch of this.channelList) {
      this.channels.set(ch.key, ch);
      this.inFlight += ch.queue.length;
    }
  }

  /**
   * The messages in flight as they decide behaviour: per channel (sorted by key), each envelope's
   * type and payload; envelope ids, causes and the channels' order of first use are left out.
   */
  canonical(): [string, [string, Record<string, unknown>][]][] {
    return this.channelList
      .filter((ch) => ch.queue.length > 0)
      .map((ch): [string, [string, Record<string, unknown>][]] => [ch.key, ch.queue.map((e) => [e.type, e.payload])])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

export function channelKey(from: string, to: string): string {
  return `${from}->${to}`;
}
