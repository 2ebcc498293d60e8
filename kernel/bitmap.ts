/**
 * Bitmaps as the kernel uses them for dirty logging (one bit per page): bitmap_set/clear,
 * test_bit, bitmap_shift_left, bitmap_weight, and the user-visible byte layout (a u8 array, as
 * iova_bitmap uses since d18411ec3057) with guard bytes around it, so a write outside the user's
 * buffer is detectable. Plain data (number arrays) so it snapshots with its owner.
 */

export class Bitmap {
  constructor(public bits: number[]) {}

  static zero(nbits: number): Bitmap {
    return new Bitmap(new Array(nbits).fill(0));
  }

  get size(): number {
    return this.bits.length;
  }

  set(start: number, len = 1): void {
    for (let i = start; i < start + len; i++) this.check(i), (this.bits[i] = 1);
  }

  clear(start: number, len = 1): void {
    for (let i = start; i < start + len; i++) this.check(i), (this.bits[i] = 0);
  }

  test(i: number): boolean {
    this.check(i);
    return this.bits[i] === 1;
  }

  fill(v: 0 | 1): void {
    this.bits.fill(v);
  }

  /** bitmap_shift_left(dst, src, shift, nbits). */
  shiftLeft(shift: number): void {
    const n = this.bits.length;
    const out = new Array(n).fill(0);
    for (let i = 0; i + shift < n; i++) out[i + shift] = this.bits[i];
    this.bits = out;
  }

  /**
   * __bitmap_shift_left(dst, src, shift, nbits) as lib/bitmap.c does it, in place: whole words up
   * to BITS_TO_LONGS(nbits) move left by `shift`; bits leaving that last word are lost, bits of
   * that word beyond `nbits` are kept (not masked), words past it are untouched.
   */
  shiftLeftWords(shift: number, nbits: number, bitsPerLong = 64): void {
    const lim = Math.ceil(nbits / bitsPerLong) * bitsPerLong;
    const out = this.bits.slice();
    for (let i = 0; i < lim; i++) out[i] = i - shift >= 0 && i - shift < this.bits.length ? this.bits[i - shift] : 0;
    this.bits = out;
  }

  weight(): number {
    let w = 0;
    for (const b of this.bits) w += b;
    return w;
  }

  /** Indexes of the set bits. */
  ones(): number[] {
    const out: number[] = [];
    this.bits.forEach((b, i) => b && out.push(i));
    return out;
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.bits.length) throw new RangeError(`bit ${i} outside a bitmap of ${this.bits.length} bits`);
  }
}

/**
 * A user buffer of `bytes` bytes holding a bitmap, with `guard` canary bytes on each side, as the
 * user's memory around it: writing a bit outside the buffer lands in a guard byte instead of
 * throwing, so a monitor can report the bytes that were written outside.
 */
export interface UserBitmapState {
  guard: number;
  /** guard + bytes + guard, each 0..255. */
  mem: number[];
}

export const GUARD_FILL = 0xa5;

export class UserBitmap {
  constructor(public s: UserBitmapState) {}

  static alloc(bytes: number, guard = 8): UserBitmap {
    return new UserBitmap({ guard, mem: [...new Array(guard).fill(GUARD_FILL), ...new Array(bytes).fill(0), ...new Array(guard).fill(GUARD_FILL)] });
  }

  get bytes(): number {
    return this.s.mem.length - 2 * this.s.guard;
  }

  /** Set bit `bit` counted from the start of the user buffer (negative or past the end: a guard byte). */
  setBit(bit: number): void {
    const at = this.s.guard + Math.floor(bit / 8);
    if (at < 0 || at >= this.s.mem.length) throw new RangeError(`bit ${bit} is beyond the guard bytes of a ${this.bytes}-byte user bitmap`);
    this.s.mem[at] |= 1 << (bit % 8 >= 0 ? bit % 8 : 8 + (bit % 8));
  }

  testBit(bit: number): boolean {
    const at = this.s.guard + Math.floor(bit / 8);
    return ((this.s.mem[at] ?? 0) & (1 << (((bit % 8) + 8) % 8))) !== 0;
  }

  /** Guard bytes that changed: (offset from the buffer's start, value). Empty when nothing was written outside. */
  outside(): [number, number][] {
    const out: [number, number][] = [];
    const g = this.s.guard;
    for (let i = 0; i < g; i++) if (this.s.mem[i] !== GUARD_FILL) out.push([i - g, this.s.mem[i]]);
    for (let i = g + this.bytes; i < this.s.mem.length; i++) if (this.s.mem[i] !== GUARD_FILL) out.push([i - g, this.s.mem[i]]);
    return out;
  }

  /** The bits of the user buffer, LSB first within each byte. */
  bits(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.bytes; i++) for (let b = 0; b < 8; b++) out.push((this.s.mem[this.s.guard + i] >> b) & 1);
    return out;
  }
}
