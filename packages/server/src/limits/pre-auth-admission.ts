/**
 * Sockets that have not authenticated yet, counted per client address and in total. Each address
 * may hold at most `maxPerAddress` of them, so one address cannot take the whole of `maxTotal`
 * (the last resort, which bounds memory when many addresses flood at once) and lock everyone else
 * out. A socket counts from `add` until `release` (it authenticated or closed); an address whose
 * count returns to zero is forgotten, so the map holds only addresses with a socket waiting now.
 */
export class PreAuthAdmission {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Whether one more socket from `address` fits under both caps. Counts nothing. */
  admits(address: string): boolean {
    return this.total < this.maxTotal && (this.byAddress.get(address) ?? 0) < this.maxPerAddress;
  }

  add(address: string): void {
    this.total += 1;
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  /** Undoes one `add` from `address`; call it exactly once per socket added. */
  release(address: string): void {
    const count = this.byAddress.get(address);
    if (count === undefined) return;
    this.total -= 1;
    if (count <= 1) this.byAddress.delete(address);
    else this.byAddress.set(address, count - 1);
  }

  /** Addresses with at least one socket waiting. */
  get addresses(): number {
    return this.byAddress.size;
  }
}
