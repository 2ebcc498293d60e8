/**
 * The trace. Two forms of a step:
 * - the JSON line (`traceLine`): everything in the step record, written only when a trace is
 *   written (`onTrace`, `replay --trace`, the inspector);
 * - the compact canonical record (`compactRecord`), which the run's trace hash covers: the run's
 *   identity (same inputs, same hash, in any process, on either engine).
 *
 * The compact record of a step is a string of UTF-16 code units:
 *
 *   t0 t1 US step US after { RS to US type } { GS what } { FS op US lock US by } LF
 *
 * t0/t1 the virtual time after the step (low and high 16 bits), `step` the scheduler's key, `after`
 * the stepped actor's state; then each message sent (receiver and type), each observation (its
 * kind), each lock event (acquire/release, lock, holder), in the order they happened within their
 * kind; US/RS/GS/FS/LF are 0x1f/0x1e/0x1d/0x1c/0x0a. After the last step the run's data choices
 * follow: ESC (0x1b), then each value as two code units. Payloads, envelope ids and contexts are
 * left out: they follow from the schedule and the data, which the record covers.
 *
 * The hash runs over those code units as they are made, without building the string: two 32-bit
 * multiplicative lanes (each step a bijection of the lane, so no state is lost), and at the end
 * sha256 over the lanes and the length, so a trace hash stays 64 hex digits.
 */
import { createHash } from 'node:crypto';
import type { StepRecord } from './model/monitor.ts';

const str = JSON.stringify;

/**
 * The line written for a step. Envelopes keep id, from, to, type and payload.
 * Written out field by field (the bytes of JSON.stringify over an object with these keys in this
 * order).
 */
export function traceLine(rec: StepRecord, context?: unknown): string {
  let line = `{"i":${rec.i},"t":${rec.t},"step":${str(rec.step)},"actor":${str(rec.actor)},"event":${str(rec.event)},"before":${str(rec.before)},"after":${str(rec.after)}`;
  if (rec.delivered) line += `,"delivered":${rec.delivered.id}`;
  if (rec.sent.length) line += `,"sent":${str(rec.sent)}`;
  if (rec.obs.length) line += `,"obs":${str(rec.obs)}`;
  if (rec.locks.length) line += `,"locks":${str(rec.locks)}`;
  if (context !== undefined) line += `,"context":${str(context)}`;
  return line + '}';
}

const US = 0x1f;
const RS = 0x1e;
const GS = 0x1d;
const FS = 0x1c;
const LF = 0x0a;
const ESC = 0x1b;

/** The compact record of a step as a string (what the hasher hashes, code unit for code unit). */
export function compactRecord(rec: StepRecord): string {
  const c = String.fromCharCode;
  let s = c(rec.t & 0xffff, rec.t >>> 16) + rec.step + c(US) + rec.after;
  for (const e of rec.sent) s += c(RS) + e.to + c(US) + e.type;
  for (const o of rec.obs) s += c(GS) + o.what;
  for (const l of rec.locks) s += c(FS) + l.op + c(US) + l.lock + c(US) + l.by;
  return s + c(LF);
}

/** The compact form of a run's data choices (after its last step). */
export function compactData(values: readonly number[]): string {
  let s = String.fromCharCode(ESC);
  for (const v of values) s += String.fromCharCode(v & 0xffff, v >>> 16);
  return s;
}

// The lanes, while a record is hashed (loaded from and stored back into the hasher).
let A = 0;
let B = 0;
let N = 0;

function unit(c: number): void {
  A = Math.imul(A ^ c, 0x01000193);
  A = (A << 13) | (A >>> 19);
  B = Math.imul(B ^ c, 0x5bd1e995);
  B = (B << 17) | (B >>> 15);
}

function text(s: string): void {
  const n = s.length;
  let a = A;
  let b = B;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b = (b << 17) | (b >>> 15);
  }
  A = a;
  B = b;
  N += n;
}

export class TraceHasher {
  private a = 0x811c9dc5 | 0;
  private b = 0x2545f491 | 0;
  /** Code units hashed. */
  private n = 0;

  /** Hash one step's compact record. */
  add(rec: StepRecord): void {
    A = this.a;
    B = this.b;
    N = this.n;
    unit(rec.t & 0xffff);
    unit(rec.t >>> 16);
    N += 2;
    text(rec.step);
    unit(US);
    text(rec.after);
    N++;
    const sent = rec.sent;
    for (let i = 0; i < sent.length; i++) {
      unit(RS);
      text(sent[i].to);
      unit(US);
      text(sent[i].type);
      N += 2;
    }
    const obs = rec.obs;
    for (let i = 0; i < obs.length; i++) {
      unit(GS);
      text(obs[i].what);
      N++;
    }
    const locks = rec.locks;
    for (let i = 0; i < locks.length; i++) {
      const l = locks[i];
      unit(FS);
      text(l.op);
      unit(US);
      text(l.lock);
      unit(US);
      text(l.by);
      N += 3;
    }
    unit(LF);
    this.a = A;
    this.b = B;
    this.n = N + 1;
  }

  /** Hash the run's data choices (once, after the last step). */
  addData(values: readonly number[]): void {
    A = this.a;
    B = this.b;
    unit(ESC);
    for (let i = 0; i < values.length; i++) {
      unit(values[i] & 0xffff);
      unit(values[i] >>> 16);
    }
    this.a = A;
    this.b = B;
    this.n += 1 + 2 * values.length;
  }

  /** Hash a compact string as it is (tests: a materialized record hashes as the record). */
  addText(s: string): void {
    A = this.a;
    B = this.b;
    N = this.n;
    text(s);
    this.a = A;
    this.b = B;
    this.n = N;
  }

  digest(): string {
    return createHash('sha256')
      .update(`pagerace-trace-v2:${this.a >>> 0}:${this.b >>> 0}:${this.n}`)
      .digest('hex');
  }
}
