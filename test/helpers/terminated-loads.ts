// `node terminated-loads.js ADDON N`: N times, a worker thread loads the native addon over and
// over and is terminated while it does; prints "survived N" if the process lived through it.
import { Worker } from 'node:worker_threads';

async function main(addon: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const loads = `require('node:worker_threads').parentPort.postMessage('loading');
      for (let i = 0; i < 50; i++) process.dlopen({ exports: {} }, ${JSON.stringify(addon)});`;
    const worker = new Worker(loads, { eval: true });
    await new Promise((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    await worker.terminate();
  }
  process.stdout.write(`survived ${times}\n`);
}

void main(process.argv[2], Number(process.argv[3]));
