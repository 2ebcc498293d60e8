/** Which thread slot serves which kworker in one run: slots 1..threads, by first use. */
export class SlotMap {
  private readonly bySlot = new Map<string, number>();

  constructor(private readonly threads: number) {}

  of(who: string): number {
    let s = this.bySlot.get(who);
    if (s === undefined) {
      if (this.bySlot.size >= this.threads) {
        throw new Error(`the mm runtime has ${this.threads} kworker thread(s); ${who} needs another (start it with more threads)`);
      }
      s = this.bySlot.size + 1;
      this.bySlot.set(who, s);
    }
    return s;
  }
}
