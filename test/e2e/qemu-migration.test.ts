// The proof: a real QEMU VM (examples/qemu/build-guest.sh: Debian's kernel and busybox, under
// TCG) migrated between two hosts of the overlay, QEMU's own migration driven through QMP and
// the libvirt hook run with libvirt's calls on each host, while a peer on a third host sends it
// 1,000 numbered datagrams a second (and a ping every 10 ms), which it echoes.
// `npm run test:migration` runs this alone; `npm run bench -- migration` compares it with the
// move done without mirroring.
import test from 'ava';
import { Lab, migrateUnderStream } from '../../examples/lab';

test('a live migration with mirroring loses nothing at 1,000 packets/s, and late copies are few', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const report = await migrateUnderStream(lab, { mirroring: true, rate: 1000, seconds: 4, log: (line) => t.log(line) });
  t.log(JSON.stringify(report));
  t.is(report.sent, 4000);
  t.is(report.lost, 0, `lost: ${report.lost_runs.join(', ')}`);
  // How late the held frames arrive is a timing: the benchmark reports it (max_rtt_ms, late).
  t.is(report.ping.received, report.ping.sent, 'every ping answered');
  // Copies held at the destination are let go when the source marks the guest read them, but
  // for the last 30 ms before a mark (HeldFrames): about 30 duplicates at this rate.
  t.true(report.duplicated <= 60, `duplicated: ${report.duplicated_runs.join(', ')}`);
  t.is(report.guest_udp_receive_errors, 0, 'the guest itself dropped nothing');
  t.true(report.commit_to_peer_flows_ms! < 1000, 'the peer\'s flows went to the destination alone');
  t.true((report.drops.destination?.readAtSource ?? 0) > 0, 'the marks did let go of what the guest had read');
  t.is(report.bound_on, 'destination');
  t.is(report.migration_state, 'committed');
});
