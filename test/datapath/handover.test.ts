// Handing descriptors to another process (the agent's takeover): what is given arrives whole,
// in order, as working descriptors, however many messages it takes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { native } from '../../src/datapath/native';

test('descriptors and their description arrive whole and in order, across many messages; none given is null', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-handover-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const at = path.join(dir, 'handover.sock');
  const listener = native.listenHandover(at);
  t.is(native.receiveHandover(listener), null, 'no giver yet');
  // 450 descriptors (three messages' worth) of files, each named by its number; a text longer
  // than one message.
  const given = Array.from({ length: 450 }, (_, i) => fs.openSync(path.join(dir, `f${i}`), 'w+'));
  const text = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ port: i, name: `vnet${i}` })));
  native.sendHandover(at, given, text);
  const received = native.receiveHandover(listener)!;
  t.is(received.text, text);
  t.is(received.fds.length, given.length);
  for (const [i, fd] of received.fds.entries()) fs.writeSync(fd, `${i}`);
  t.deepEqual(given.filter((_, i) => fs.readFileSync(path.join(dir, `f${i}`), 'utf8') !== `${i}`), [], 'each arrives as the descriptor given in its place');
  for (const fd of [...given, ...received.fds, listener]) fs.closeSync(fd);
  t.throws(() => native.sendHandover(path.join(dir, 'nobody.sock'), [], 'x'), { message: /cannot reach/ });
});
