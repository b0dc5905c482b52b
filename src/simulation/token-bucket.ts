// A token bucket: `rate` events per second, up to `burst` at once. What devices answer by
// themselves goes through one (a router's ICMP errors, as Linux's net.ipv4.icmp_msgs_per_sec
// and icmp_msgs_burst; a chain's rejections; a port's DHCP and router solicitations), so that
// a flood cannot make the slow path a packet generator, nor keep it from other VMs.
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

/** A token bucket each for many things (routers, chains, ports), made as they are first
 *  named; bounded: past `most` of them, they start over. */
export class TokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly rate: number, private readonly burst: number, private readonly most = 65536) {}

  take(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.most) this.buckets.clear();
      this.buckets.set(key, (bucket = new TokenBucket(this.rate, this.burst)));
    }
    return bucket.take();
  }
}
