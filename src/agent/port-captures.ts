// The captures the agent runs for `vswitch capture`: each a spec that every datapath worker
// follows (a port's frames are received by one worker and sent to it by any), its frames handed
// to whoever asked (the control API streams them as pcapng) until it is stopped. A capture of a
// port on another host has an id here too: its copies come back over the overlay under it
// (remote-captures.ts).
import { CapturedFrame, CaptureSpec, COPY_KEYS, ToDatapath } from '../datapath';
import { parseFlowMatch } from '../flow';

export type CaptureRequest = Omit<CaptureSpec, 'id'>;
type OnFrames = (frames: CapturedFrame[]) => void;

export class PortCaptures {
  private lastId = 0;
  private readonly sessions = new Map<number, { spec: CaptureSpec | null; onFrames: OnFrames }>();

  constructor(private readonly toWorkers: (message: ToDatapath) => void) {}

  /** Starts a capture of a port here; the function returned stops it. Throws FlowMatchError
   *  for a match that does not parse, before any worker sees it. */
  start(request: CaptureRequest, onFrames: OnFrames): () => void {
    if (request.match) parseFlowMatch(request.match);
    const spec = { ...request, id: this.newId() };
    this.sessions.set(spec.id, { spec, onFrames });
    this.toWorkers({ type: 'capture', spec });
    return () => {
      if (this.sessions.delete(spec.id)) this.toWorkers({ type: 'captureEnd', id: spec.id });
    };
  }

  /** An id for a capture another host runs for us, whose copies arrive under it. */
  reserve(onFrames: OnFrames): { id: number; release: () => void } {
    const id = this.newId();
    this.sessions.set(id, { spec: null, onFrames });
    return { id, release: () => this.sessions.delete(id) };
  }

  /** Frames captured here or arrived from another host, to their captures. */
  deliver(frames: CapturedFrame[]): void {
    const byCapture = new Map<number, CapturedFrame[]>();
    for (const f of frames) {
      const some = byCapture.get(f.capture);
      if (some) some.push(f);
      else byCapture.set(f.capture, [f]);
    }
    for (const [id, some] of byCapture) this.sessions.get(id)?.onFrames(some);
  }

  /** What a restarted worker must be told to capture again. */
  running(): ToDatapath[] {
    return [...this.sessions.values()].flatMap(({ spec }) => (spec ? [{ type: 'capture' as const, spec }] : []));
  }

  /** Ids fit the overlay's copy keys; one in use is passed over. */
  private newId(): number {
    do this.lastId = (this.lastId % (COPY_KEYS.count - 1)) + 1;
    while (this.sessions.has(this.lastId));
    return this.lastId;
  }
}
