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

/**
 * A user bitmap as the kernel reaches it: user memory made of pages of `pageBytes` bytes, which
 * the kernel pins a few at a time and writes bits into by (pinned page, bit in page), as
 * iova_bitmap_set() does through kmap_local_page(). The region is one guard page, then the
 * bitmap at `offset` bytes into the next page, then guard bytes to the end of that page and one
 * more page: every byte of the region outside the bitmap is the user's other memory. Each bit
 * written outside the bitmap is recorded (even when the bit was already 1), so a monitor can name
 * it. Plain data, snapshotted with its owner.
 */
export interface PagedUserBitmapState {
  pageBytes: number;
  /** Byte offset of the bitmap's byte 0 in the region. */
  start: number;
  /** Bits the user asked for (the bitmap holds ceil(nbits / 8) bytes). */
  nbits: number;
  /** The whole region, byte by byte (0..255). */
  mem: number[];
  /** Bits written outside [0, nbits), counted from the bitmap's bit 0, in the order written. */
  outside: number[];
}

export class PagedUserBitmap {
  constructor(public s: PagedUserBitmapState) {}

  /** A zeroed bitmap of `nbits` bits, `offset` bytes into a user page (offset < pageBytes). */
  static layout(pageBytes: number, offset: number, nbits: number): PagedUserBitmap {
    if (!(offset >= 0 && offset < pageBytes)) throw new RangeError(`bitmap offset ${offset} outside a ${pageBytes}-byte page`);
    const start = pageBytes + offset;
    const nbytes = Math.ceil(nbits / 8);
    const pages = Math.ceil((start + nbytes) / pageBytes) + 1;
    return new PagedUserBitmap({ pageBytes, start, nbits, mem: new Array(pages * pageBytes).fill(0), outside: [] });
  }

  /** Pages in the region (a pin past the last one fails, as pin_user_pages_fast on unmapped memory). */
  get pages(): number {
    return this.s.mem.length / this.s.pageBytes;
  }

  get nbytes(): number {
    return Math.ceil(this.s.nbits / 8);
  }

  /** Set bit `bit` of region page `page` (kmap of a pinned page + bitmap_set). Returns the bit relative to the bitmap's bit 0. */
  setInPage(page: number, bit: number): number {
    const regionBit = page * this.s.pageBytes * 8 + bit;
    const byte = Math.floor(regionBit / 8);
    if (page < 0 || page >= this.pages || bit < 0 || bit >= this.s.pageBytes * 8) throw new RangeError(`bit ${bit} of page ${page}: outside the ${this.pages}-page user region`);
    this.s.mem[byte] |= 1 << (regionBit % 8);
    const rel = regionBit - this.s.start * 8;
    if (rel < 0 || rel >= this.s.nbits) this.s.outside.push(rel);
    return rel;
  }

  /** Bit `i` of the bitmap (0 <= i < nbits). */
  test(i: number): boolean {
    const b = this.s.start * 8 + i;
    return ((this.s.mem[Math.floor(b / 8)] >> (b % 8)) & 1) === 1;
  }

  /** Indexes of the set bits of the bitmap. */
  ones(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.s.nbits; i++) if (this.test(i)) out.push(i);
    return out;
  }

  /** The region as hex bytes with the bitmap between bars: "00 00|ff 0f|00 00". */
  hex(): string {
    const h = (a: number, b: number) => this.s.mem.slice(a, b).map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const end = this.s.start + this.nbytes;
    return `${h(0, this.s.start)}|${h(this.s.start, end)}|${h(end, this.s.mem.length)}`;
  }
}
