// Every datapath worker loads the native addon. A worker ended while it loads it (an agent that
// stops, or restarts a worker, as the worker starts) must end alone: node-addon-api aborts the
// whole process when the addon's init cannot throw into a terminating thread, unless told to
// let that go (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS, native/binding.gyp). Seen once as
// "FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw" killing a test process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

const ADDON = path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'vswitch_native.node');
const LOADS = path.join(__dirname, '..', 'helpers', 'terminated-loads.js');

test('workers terminated while they load the addon end alone; the process lives on', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, [LOADS, ADDON, '300'], { timeout: 120_000 });
  t.is(stdout.trim(), 'survived 300');
});
