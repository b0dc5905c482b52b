// A token bucket: `rate` events per second, up to `burst` at once. Routers send ICMP errors
// through one, as Linux does (net.ipv4.icmp_msgs_per_sec, icmp_msgs_burst), so that a flood
// of expiring or unroutable packets cannot make the slow path a packet generator.
export class TokenBucket {
  private tokens: number;
  private at = performance.now();

  constructor(private readonly rate: number, private readonly burst: number) {
    this.tokens = burst;
  }

  take(now = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
