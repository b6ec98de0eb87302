// Per-endpoint state: requests outstanding from this router, the load the instance last
// reported, and a circuit breaker (closed -> open after N failures -> half-open trial -> closed).
export type BreakerState = 'closed' | 'open' | 'half-open';

interface EndpointState {
  outstanding: number;
  reportedInFlight: number;
  failures: number;
  openedAt: number;
  trialInFlight: boolean;
}

export class Balancer {
  private readonly states = new Map<string, EndpointState>();

  constructor(
    private readonly breakerFailures: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private state(url: string): EndpointState {
    let s = this.states.get(url);
    if (!s) this.states.set(url, (s = { outstanding: 0, reportedInFlight: 0, failures: 0, openedAt: 0, trialInFlight: false }));
    return s;
  }

  breaker(url: string): BreakerState {
    const s = this.state(url);
    if (s.failures < this.breakerFailures) return 'closed';
    return this.now() - s.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** An endpoint can take a request: breaker closed, or half-open with no trial running. */
  available(url: string): boolean {
    const b = this.breaker(url);
    return b === 'closed' || (b === 'half-open' && !this.state(url).trialInFlight);
  }

  /** Load as the router sees it: its own outstanding requests, or the instance's own count if higher. */
  load(url: string): number {
    const s = this.state(url);
    return Math.max(s.outstanding, s.reportedInFlight);
  }

  /** Least-outstanding among available endpoints, skipping `exclude`. */
  pick(urls: string[], exclude: Set<string>): string | undefined {
    let best: string | undefined;
    for (const url of urls) {
      if (exclude.has(url) || !this.available(url)) continue;
      if (best === undefined || this.load(url) < this.load(best)) best = url;
    }
    return best;
  }

  begin(url: string): void {
    const s = this.state(url);
    s.outstanding++;
    if (this.breaker(url) === 'half-open') s.trialInFlight = true;
  }

  end(url: string, ok: boolean, reportedInFlight?: number): void {
    const s = this.state(url);
    s.outstanding--;
    s.trialInFlight = false;
    if (reportedInFlight !== undefined && Number.isFinite(reportedInFlight)) s.reportedInFlight = reportedInFlight;
    if (ok) s.failures = 0;
    else if (++s.failures >= this.breakerFailures) s.openedAt = this.now();
  }

  known(): string[] {
    return [...this.states.keys()];
  }
}
