// Which ports hold frames for a VM migrating here, and when they stop.
import test from 'ava';
import pino from 'pino';
import { ArrivingGuests } from '../../src/agent/arriving-guests';
import type { ToDatapath } from '../../src/datapath';
import { EMPTY, Migration } from '../../src/topology';

const migration = (begunAt: number): Migration => ({ ...EMPTY.migration, id: 'p1', tenant: 't', port: 'p1', destinationHost: 'h2', destinationInterface: 'tapd', begunAt });
const tapd = { number: 3, name: 'tapd', binding: 'p1' };
const other = { number: 4, name: 'tap9', binding: 'p9' };

function setUp() {
  const sent: ToDatapath[] = [];
  return { sent, guests: new ArrivingGuests(150, (m) => sent.push(m), pino({ level: 'silent' })) };
}

test('the arriving interface holds until its guest runs, and is not held again for that arrival', (t) => {
  const { sent, guests } = setUp();
  guests.sync([migration(1)], [tapd, other]);
  t.deepEqual(sent, [{ type: 'hold', number: 3, windowMs: 150 }]);
  t.is(guests.attaching(tapd, [migration(1)]), 150, 'a worker given the port (restarted) holds it from the start');
  t.is(guests.attaching(other, [migration(1)]), undefined);
  t.is(guests.guestRan(tapd, [migration(1)])?.id, 'p1');
  t.deepEqual(sent.at(-1), { type: 'release', number: 3 });
  t.is(guests.guestRan(tapd, [migration(1)]), undefined, 'only once');
  guests.sync([migration(1)], [tapd]);
  t.is(sent.length, 2, 'the store still says it has not run (not written yet): not held again');
  guests.sync([migration(2)], [tapd]);
  t.deepEqual(sent.at(-1), { type: 'hold', number: 3, windowMs: 150 }, 'a new migration of the port holds again');
});

test('a port attached while its VM is arriving holds from its first frame: the hold goes with the port', (t) => {
  const { sent, guests } = setUp();
  t.is(guests.attaching(tapd, [migration(1)]), 150);
  guests.sync([migration(1)], [tapd, other]);
  t.deepEqual(sent, [], 'no hold of its own, after the port');
  t.is(guests.guestRan(tapd, [migration(1)])?.id, 'p1');
  t.is(guests.attaching(tapd, [migration(1)]), undefined, 'the guest ran: attached again, it does not hold');
});

test('a migration that ends before the guest ran lets go; a port that goes is forgotten', (t) => {
  const { sent, guests } = setUp();
  guests.sync([migration(1)], [tapd]);
  guests.sync([], [tapd]);
  t.deepEqual(sent.at(-1), { type: 'release', number: 3 });
  guests.sync([migration(1)], [tapd]);
  guests.forget(3);
  t.is(guests.attaching(tapd, []), undefined, 'forgotten, and no longer arriving');
  t.is(guests.guestRan(tapd, [migration(1)]), undefined, 'a port no longer held');
});
