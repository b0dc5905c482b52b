// The captures the agent runs for `vswitch capture`: each a spec that every datapath worker
// follows (a port's frames are received by one worker and sent to it by any), its frames handed
// to whoever asked (the control API streams them as pcapng) until it is stopped.
import { CapturedFrame, CaptureSpec, ToDatapath } from '../datapath';
import { parseFlowMatch } from '../flow';

export type CaptureRequest = Omit<CaptureSpec, 'id'>;

export class PortCaptures {
  private nextId = 1;
  private readonly sessions = new Map<number, { spec: CaptureSpec; onFrames: (frames: CapturedFrame[]) => void }>();

  constructor(private readonly toWorkers: (message: ToDatapath) => void) {}

  /** Starts a capture; the function returned stops it. Throws FlowMatchError for a match that
   *  does not parse, before any worker sees it. */
  start(request: CaptureRequest, onFrames: (frames: CapturedFrame[]) => void): () => void {
    if (request.match) parseFlowMatch(request.match);
    const spec = { ...request, id: this.nextId++ };
    this.sessions.set(spec.id, { spec, onFrames });
    this.toWorkers({ type: 'capture', spec });
    return () => {
      if (this.sessions.delete(spec.id)) this.toWorkers({ type: 'captureEnd', id: spec.id });
    };
  }

  /** Frames a worker captured, to their captures. */
  deliver(frames: CapturedFrame[]): void {
    const byCapture = new Map<number, CapturedFrame[]>();
    for (const f of frames) byCapture.set(f.capture, [...(byCapture.get(f.capture) ?? []), f]);
    for (const [id, some] of byCapture) this.sessions.get(id)?.onFrames(some);
  }

  /** What a restarted worker must be told to capture again. */
  running(): ToDatapath[] {
    return [...this.sessions.values()].map(({ spec }) => ({ type: 'capture', spec }));
  }
}
