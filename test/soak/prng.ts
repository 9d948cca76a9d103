// A small seeded PRNG (mulberry32): the same seed gives the same operations, faults and moments.
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `choices`, each with its weight. */
  weighted<T extends string>(choices: Readonly<Record<T, number>>): T {
    const entries = Object.entries(choices) as [T, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [choice, weight] of entries) {
      r -= weight;
      if (r < 0) return choice;
    }
    return entries[entries.length - 1][0];
  }
}
