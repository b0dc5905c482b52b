// What the cached flows used since the last look say to the agent, once a second: which
// stations are still there (the slow path keeps their MACs learned) and which tracked
// connections are still in use (connection tracking keeps them alive, as the kernel's does
// with every packet).
import type { FlowCache } from '../flow/cache';
import { KeyWord } from '../flow/key';
import type { ActiveSource } from './messages';

const MAX_ACTIVE_SOURCES = 4096;

/** Stations whose flows were used since `since`. */
export function activeSources(cache: FlowCache, since: number): ActiveSource[] {
  const seen = new Set<string>();
  const sources: ActiveSource[] = [];
  for (let id = 0; id < cache.capacity && sources.length < MAX_ACTIVE_SOURCES; id++) {
    if (cache.actions[id] < 0 || ((cache.lastUsed[id] - since) | 0) < 0) continue;
    const portVlan = cache.keyWord(id, KeyWord.inPortVlan);
    const macHigh = cache.keyWord(id, KeyWord.macs + 1) & 0xffff;
    const macLow = cache.keyWord(id, KeyWord.macs + 2);
    const name = `${portVlan}/${macHigh}/${macLow}`;
    if (seen.has(name)) continue;
    seen.add(name);
    const mac = Uint8Array.from([macHigh >>> 8, macHigh & 0xff, macLow >>> 24, (macLow >>> 16) & 0xff, (macLow >>> 8) & 0xff, macLow & 0xff]);
    sources.push({ port: portVlan >>> 16, vlanTci: portVlan & 0xffff, mac });
  }
  return sources;
}

/** Tracked connections (their slots) whose flows were used since `since`. */
export function activeConnections(cache: FlowCache, since: number): number[] {
  const slots = new Set<number>();
  for (let id = 0; id < cache.capacity; id++) {
    if (cache.connection[id] < 0 || ((cache.lastUsed[id] - since) | 0) < 0) continue;
    slots.add(cache.connection[id]);
  }
  return [...slots];
}
