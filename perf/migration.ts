// `npm run bench -- migration`: a real QEMU VM migrated between two hosts of the overlay under
// a sequenced UDP stream from a third, twice in one run: with mirroring (the libvirt hook's
// begin before the switchover, commit after) and without (the binding moved at the switchover,
// the guest's announcement doing the rest: today's behaviour). Each in a lab of its own.
import { Lab, migrateUnderStream, MigrationReport } from '../examples/lab';

export async function migration(options: { rate: number; log: (line: string) => void }): Promise<object> {
  const run = async (mirroring: boolean): Promise<MigrationReport> => {
    const lab = new Lab();
    try {
      const report = await migrateUnderStream(lab, { mirroring, rate: options.rate, log: options.log });
      options.log(`${mirroring ? 'with' : 'without'} mirroring: ${JSON.stringify(report)}`);
      return report;
    } finally {
      await lab.cleanup();
    }
  };
  const withMirroring = await run(true);
  const withoutMirroring = await run(false);
  return { bench: 'migration', rate_pps: options.rate, with_mirroring: withMirroring, without_mirroring: withoutMirroring };
}
