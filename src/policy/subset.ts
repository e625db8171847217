/**
 * Deterministic subsetting: with many backends, each client connects to `size` of them, not
 * all. Clients are numbered 0, 1, 2... per service (SubsetSlots keeps the numbers dense). The
 * clients of one round (floor(backends / size) consecutive numbers) split one ordering of the
 * backends into disjoint subsets, so each round covers every backend once and the clients per
 * backend differ by at most one round's leftovers. Each round orders the backends by a hash of
 * (round, id): a backend joining or leaving moves the others of a round by at most one place,
 * so most clients keep all but one of their backends.
 */
export class Subsets {
  private readonly orders = new Map<number, number[]>();

  /** @param ids the backends' ids, in the assignment's order */
  constructor(
    private readonly ids: readonly string[],
    readonly size: number,
  ) {}

  /** True when subsetting leaves anyone out (more backends than a subset holds). */
  get active(): boolean {
    return this.size > 0 && this.ids.length > this.size;
  }

  /** Which subset client `index` gets: "round:position" (clients with the same key get the same subset). */
  key(index: number): string {
    const perRound = Math.floor(this.ids.length / this.size);
    return `${Math.floor(index / perRound)}:${index % perRound}`;
  }

  /** Indices into `ids` of the subset of client `index`, ascending. */
  of(index: number): number[] {
    const perRound = Math.floor(this.ids.length / this.size);
    const order = this.order(Math.floor(index / perRound));
    const start = (index % perRound) * this.size;
    return order.slice(start, start + this.size).sort((a, b) => a - b);
  }

  private order(round: number): number[] {
    let order = this.orders.get(round);
    if (!order) {
      const ranks = this.ids.map((id) => rank(round, id));
      order = this.ids.map((_, i) => i).sort((a, b) => ranks[a] - ranks[b] || a - b);
      this.orders.set(round, order);
    }
    return order;
  }
}

/** FNV-1a (32 bits) of "round/id": the same on every replica, cheap, well spread. */
function rank(round: number, id: string): number {
  let hash = 0x811c9dc5;
  const text = `${round}/${id}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Dense client numbers per service on this replica: a new stream takes the lowest free one and
 * gives it back when it ends, so the numbers in use stay 0..n-1 and every round stays full.
 */
export class SubsetSlots {
  private readonly used = new Map<string, Set<number>>();

  claim(service: string): { index: number; release(): void } {
    let taken = this.used.get(service);
    if (!taken) this.used.set(service, (taken = new Set()));
    let index = 0;
    while (taken.has(index)) index++;
    taken.add(index);
    const slots = taken;
    let released = false;
    return {
      index,
      // Idempotent: a second release must not free a number another stream has claimed since.
      release: () => {
        if (released) return;
        released = true;
        slots.delete(index);
        if (slots.size === 0 && this.used.get(service) === slots) this.used.delete(service);
      },
    };
  }
}
