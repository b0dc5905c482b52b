// Load balancers as the API keeps them: a tenant's, on a router of its own, with a VIP the
// router answers for (in the prefix of one of its ports: a tenant network, or its gateway's
// external network), members by address and port, and a health monitor. The members' health,
// written by the hosts that check them, is shown with each.
import { contains, parseAddress, parsePrefix, sameAddress } from '../packet';
import { EMPTY, LoadBalancer, memberStatusId, TopologyStore } from '../topology';
import { ApiError, owned } from './rules';

export async function checkLoadBalancer(store: TopologyStore, lb: LoadBalancer): Promise<void> {
  await owned(store, 'router', lb.router, lb.tenant, 'router');
  // What is not given takes its default: a member's weight 1, the monitor's fields (a check's
  // timeout at most its interval).
  lb.members = lb.members.map((m) => ({ ...m, weight: m.weight || 1 }));
  const given: Partial<LoadBalancer['monitor']> = lb.monitor;
  lb.monitor = { ...EMPTY.loadBalancer.monitor, ...given };
  if (given.timeoutSeconds === undefined) lb.monitor.timeoutSeconds = Math.min(lb.monitor.timeoutSeconds, lb.monitor.intervalSeconds);
  const vip = address(lb.vip, 'vip');
  const ports = (await store.list('port')).map((p) => p.value).filter((p) => p.device === lb.router);
  const prefixes = ports.flatMap((p) => p.addresses.map(parsePrefix));
  if (!prefixes.some((p) => contains(p, vip))) throw new ApiError(400, 'INVALID_VALUE', `${lb.vip} is in no network of the router's ports: the router answers for its VIPs there`, 'vip');
  if (prefixes.some((p) => sameAddress(p.address, vip))) throw new ApiError(409, 'IN_USE', `${lb.vip} is an address of the router's own`, 'vip');
  if ((await store.list('floatingIp')).some((f) => f.value.address === lb.vip)) throw new ApiError(409, 'IN_USE', `${lb.vip} is a floating IP`, 'vip');
  const same = (await store.list('loadBalancer')).find((o) => o.value.id !== lb.id && o.value.router === lb.router && o.value.vip === lb.vip && o.value.protocol === lb.protocol && o.value.port === lb.port);
  if (same) throw new ApiError(409, 'IN_USE', `${lb.protocol} ${lb.vip}:${lb.port} is load balancer ${same.value.id}'s`, 'port');
  const seen = new Set<string>();
  for (const [i, m] of lb.members.entries()) {
    if (address(m.address, `members/${i}/address`).length !== vip.length) throw new ApiError(400, 'INVALID_VALUE', `member ${m.address} is not of the VIP's family`, `members/${i}/address`);
    const key = `${m.address}:${m.port}`;
    if (seen.has(key)) throw new ApiError(409, 'IN_USE', `member ${key} is named twice`, `members/${i}`);
    seen.add(key);
  }
  if (lb.monitor.timeoutSeconds > lb.monitor.intervalSeconds) throw new ApiError(400, 'INVALID_VALUE', 'a check\'s timeout is at most its interval', 'monitor/timeoutSeconds');
}

function address(text: string, field: string): Uint8Array {
  try {
    return parseAddress(text);
  } catch {
    throw new ApiError(400, 'INVALID_VALUE', `'${text}' is not an IPv4 or IPv6 address`, field);
  }
}

/** Each member with its health: up, down (its checks failed `fall` times), or unchecked (no
 *  monitor, or no host has checked it yet). */
export async function withMemberHealth(store: TopologyStore, lb: LoadBalancer): Promise<LoadBalancer> {
  const statuses = new Map((await store.list('memberStatus')).filter((s) => s.value.loadBalancer === lb.id).map((s) => [s.value.id, s.value]));
  return {
    ...lb,
    members: lb.members.map((m) => {
      const status = lb.monitor.type === 'none' ? undefined : statuses.get(memberStatusId(lb.id, m.address, m.port));
      return { ...m, health: status ? (status.up ? 'up' : 'down') : 'unchecked', ...(status ? { since: status.since, transitions: status.transitions, checkedBy: status.host } : {}) };
    }),
  };
}
