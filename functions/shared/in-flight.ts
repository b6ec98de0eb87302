// Requests admitted and not yet answered, and a drain that waits for them (up to a grace period).
export class InFlight {
  count = 0;
  private idle?: () => void;

  constructor(private readonly onChange: (count: number) => void = () => undefined) {}

  enter(): void {
    this.onChange(++this.count);
  }

  leave(): void {
    this.onChange(--this.count);
    if (this.count === 0) this.idle?.();
  }

  /** Resolves once nothing is in flight, or after `graceS` seconds. */
  drain(graceS: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceS * 1000);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
