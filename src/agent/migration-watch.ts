// What the agents do for migrations on their own. The destination records when the arriving
// guest first runs there. The source ends the migrations that nobody ends: committed as soon as
// the guest has run at the destination and its interface here is gone (the VM has left; the
// libvirt hook's commit at `release` comes later), and, past their deadline, committed or
// aborted (expireMigration), loudly.
import type { Logger } from 'pino';
import { commitMigration, expireMigration } from '../api/migrations';
import type { Migration, TopologyStore } from '../topology';
import type { Switch } from './switch';

const CHECK_MS = 1000;

/** The destination saw the arriving guest send: the migration says so, for the orchestrator
 *  (and a deadline that ends it then commits rather than aborts). */
export async function noteGuestRunning(store: TopologyStore, event: { migration: string; at: number }, logger: Logger): Promise<void> {
  try {
    const m = await store.get('migration', event.migration);
    if (m?.value.state === 'mirroring' && m.value.guestRunningAt === 0) await store.put('migration', { ...m.value, guestRunningAt: event.at }, m.version);
  } catch (error) {
    logger.warn({ err: error, migration: event.migration }, 'could not record that the migrating guest runs here');
  }
}

/** Ends this host's outgoing migrations that are over or overdue; looks every second, and
 *  whenever a port goes down or the topology changes. Returns the function that stops it. */
export function watchMigrations(store: TopologyStore, sw: Switch, hostId: string, logger: Logger): () => void {
  const ending = new Set<string>();
  const end = async (m: Migration, left: boolean, now: number) => {
    try {
      const current = await store.get('migration', m.id);
      if (current?.value.state !== 'mirroring') return;
      if (left) {
        await commitMigration(store, current, 'the guest runs at the destination and its interface on the source is gone', now);
        logger.info({ migration: m.id, port: m.port }, 'the migrated VM left this host: migration committed');
        return;
      }
      const ended = await expireMigration(store, current, now);
      sw.migrationsExpired++;
      logger.warn({ migration: m.id, port: m.port, state: ended.value.state, reason: ended.value.reason }, 'migration ended by its deadline');
    } catch (error) {
      logger.warn({ err: error, migration: m.id }, 'could not end a migration');
    }
  };
  const check = () => {
    const now = Date.now();
    const outgoing = sw.topology.migrating().filter((m) => m.sourceHost === hostId && !ending.has(m.id));
    if (outgoing.length === 0) return;
    const upHere = new Set(sw.listPorts().filter((p) => p.state === 'up').map((p) => p.binding));
    for (const m of outgoing) {
      const left = m.guestRunningAt > 0 && !upHere.has(m.port);
      if (!left && m.deadline > now) continue;
      ending.add(m.id);
      void end(m, left, now).finally(() => ending.delete(m.id));
    }
  };
  const soon = () => setImmediate(check);
  const timer = setInterval(check, CHECK_MS);
  sw.on('port-down', soon);
  sw.on('topology-changed', soon);
  return () => {
    clearInterval(timer);
    sw.off('port-down', soon);
    sw.off('topology-changed', soon);
  };
}
