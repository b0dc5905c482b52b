// The proof: a real QEMU VM (examples/qemu/build-guest.sh: Debian's kernel and busybox, under
// TCG) migrated between two hosts of the overlay, QEMU's own migration driven through QMP and
// the libvirt hook run with libvirt's calls on each host, while a peer on a third host sends it
// 1,000 numbered datagrams a second (and a ping every 10 ms), which it echoes, until every host
// has moved to the destination. Once as the suite finds the machine, once with a CPU hog
// beside it: a loaded host migrates slower, and the switch must lose nothing all the same.
// `npm run test:migration` runs this alone; `npm run bench -- migration` compares it with the
// move done without mirroring.
import test, { ExecutionContext } from 'ava';
import { Lab, migrateUnderStream, MigrationReport } from '../../examples/lab';

/** Runs before the test gives up on faulted guests. Fresh-clone runs met three in a row, and a
 *  guest migrated on a Linux bridge, no switch involved, faulted in 4 of 20 migrations
 *  (docs/MIGRATION.md). Each faulted run costs about 40 s. */
const ATTEMPTS = 8;
const RATE = 1000;
/** HeldFrames's margin before a mark (src/datapath/held-frames.ts). */
const READ_MARGIN_MS = 30;

/** Runs the migration in a lab of its own, again when the guest faulted (up to ATTEMPTS in all,
 *  and said): on a loaded machine, QEMU 7.2's TCG guest sometimes comes across with its memory or
 *  its virtio rings corrupt, and panics in its virtio-net receive path or stops reading its tap;
 *  under the hog it may also stall for seconds at the source while it is migrated (a fresh-clone
 *  run: 2,465 datagrams lost 15 s before its pause, 2,309 of them refused by its tap). What is
 *  lost then is the guest's, and such a run says nothing of the switch. */
async function migrate(t: ExecutionContext, options: { hog: boolean }): Promise<MigrationReport> {
  // ava's own timeout (300 s without a result) would end a test that needs its later runs.
  t.timeout(ATTEMPTS * 90_000);
  for (let attempt = 1; ; attempt++) {
    const lab = new Lab();
    try {
      // Ended with the lab; bounded by its own timeout too, should it outlive its test.
      if (options.hog) lab.spawn(null, 'stress-ng', ['--cpu', '0', '--timeout', '600']);
      const report = await migrateUnderStream(lab, { mirroring: true, rate: RATE, log: (line) => t.log(line) });
      t.log(JSON.stringify(report));
      if (!report.guest_fault || attempt === ATTEMPTS) return report;
      t.log(`attempt ${attempt}: the guest faulted: "${report.guest_fault}"; once more`);
    } finally {
      await lab.cleanup();
    }
  }
}

function check(t: ExecutionContext, report: MigrationReport, options: { hog: boolean }): void {
  t.is(report.guest_fault, null, 'the guest came through the migration sound');
  t.true(report.sent_before_pause > 0 && report.sent_after_resume > 0, 'the switchover fell inside the stream');
  t.true(report.sent_after_resume >= 500, 'the stream went on after every host had moved');
  if (!options.hog) {
    t.is(report.lost, 0, `lost: ${report.lost_runs.join(', ')}`);
    t.is(report.guest_udp_receive_errors, 0, 'the guest itself dropped nothing');
  } else t.is(uncounted(report), 0, `lost: ${report.lost_runs.join(', ')} (${report.lost_before_pause} of ${report.lost} before the pause), pings sent at ${report.ping.lost_at.join(', ')} ms from the resume; drops ${JSON.stringify(report.drops)}, the guest's own ${report.guest_udp_receive_errors}`);
  // How late the held frames arrive is a timing: the benchmark reports it (max_rtt_ms, late).
  t.true(report.ping.sent > 0);
  // Under the hog a starved guest's tap refuses pings too: they count with the stream's losses.
  if (!options.hog) t.is(report.ping.received, report.ping.sent, `every ping answered (lost ones sent at ${report.ping.lost_at.join(', ')} ms from the resume)`);
  // Copies held at the destination are let go when the source marks the guest read them, but
  // for the last 30 ms before a mark (HeldFrames): about 30 duplicates at this rate.
  if (!options.hog) t.true(report.duplicated <= 60, `duplicated: ${report.duplicated_runs.join(', ')}`);
  else t.true(noneAfterPause(report), `duplicated: ${report.duplicated_runs.join(', ')}, ${report.sent_before_pause} sent before the pause`);
  t.true((report.drops.destination?.readAtSource ?? 0) > 0, 'the marks did let go of what the guest had read');
  // The peer converged: after the commit its frames to the VM went to the destination alone,
  // and with the stream over, a few pings still do, and no cached flow names the source.
  t.true(report.commit_to_peer_flows_ms! < 1000, 'the peer\'s frames went to the destination alone soon after the commit');
  t.true(report.sparse.answered, 'the VM answers sparse pings after the stream');
  t.true(report.sparse.to_destination > 0, 'sparse pings tunnel to the destination');
  t.is(report.sparse.to_source, 0, 'and nothing to the source');
  t.is(report.sparse.flows_naming_source, 0, 'no cached flow of the peer names the source');
  t.is(report.bound_on, 'destination');
  t.is(report.migration_state, 'committed');
}

/** Under the hog the TCG guest may be starved for seconds at either end (a fresh-clone run: echoes
 *  5.2 s late). While it does not read its tap, what the tap refuses waits in the switch's
 *  backlog (src/datapath/backlog.ts) until the tap takes it; only a tap that takes nothing for
 *  the hold window (500 ms) loses what waited, and the switch counts it (txError). While the
 *  guest's kernel reads but its echo does not run, the guest's own UDP drops what its memory no
 *  longer holds, and counts it (InErrors; that run: 687 in one run of numbers, 2.6 s before the
 *  pause). What neither counted, the switch lost unseen: the losses before the pause beyond the
 *  source's txError, and after it beyond the destination's, less what the guest dropped. The
 *  pings beside the stream go through the same taps (a work-tree run: 9 lost 5.9 s before
 *  the pause, with the stream's 469, against the source's 524 txError). */
function uncounted(report: MigrationReport): number {
  const beyond = (lost: number, host: 'source' | 'destination') => Math.max(0, lost - (report.drops[host]?.txError ?? 0));
  const pingsBefore = report.ping.lost_at.filter((at) => at < -report.pause_ms).length;
  const pingsAfter = report.ping.lost_at.length - pingsBefore;
  const unseen = beyond(report.lost_before_pause + pingsBefore, 'source') + beyond(report.lost - report.lost_before_pause + pingsAfter, 'destination');
  return Math.max(0, unseen - Math.max(0, report.guest_udp_receive_errors));
}

/** Under the hog the copies kept before a mark are not the only duplicates. A starved guest may
 *  answer what it read at the source (which marks it read) only close to its pause or after
 *  it: a fresh-clone run had 66, 36-101 ms before the pause, where 60 was this test's bound.
 *  None comes after the guest's pause: from then on each frame has one way to the guest. (Two
 *  runs also had 3-5 about 1.4 s before the pause, when the destination attached the arriving
 *  tap: frames forwarded to it before its hold came. A port now comes to the workers held.) */
function noneAfterPause(report: MigrationReport): boolean {
  const runs = report.duplicated_runs.map((run) => run.split('-').map(Number));
  // The report names ten runs at most: more, and the rest go unchecked.
  return runs.length < 10 && runs.every(([first, last = first]) => last < report.sent_before_pause + (READ_MARGIN_MS * RATE) / 1000);
}

test.serial('a live migration with mirroring loses nothing at 1,000 packets/s, and late copies are few', async (t) => {
  check(t, await migrate(t, { hog: false }), { hog: false });
});

test.serial('the same with a CPU hog on every core: slower, and nothing lost that no one counted (a tap that took nothing for the hold window, the starved guest\'s own stack)', async (t) => {
  check(t, await migrate(t, { hog: true }), { hog: true });
});
