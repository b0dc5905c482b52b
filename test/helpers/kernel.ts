// What the running kernel offers, for tests whose expectations depend on it.
import os from 'node:os';

const [major, minor] = os.release().split('.').map(Number);

/** Linux 6.12 and later keep a slice per thread under the fair scheduler (sched_setattr). */
export const perThreadSlices = major > 6 || (major === 6 && minor >= 12);
