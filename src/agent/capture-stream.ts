// GET /capture on the control socket: a port's frames as a pcapng stream, what `vswitch
// capture` writes to a file or to standard output (for tcpdump -r - or Wireshark). Query:
// port (a datapath port's name or number, or the id of a virtual port bound here or on another
// host this one tunnels to), direction (in: from its VM, out: to it, both), match (a flow match),
// drops (1: frames the switch dropped on the port too, each with its reason in a comment),
// count (stop after that many). It stops when the client goes away or the count is reached.
import type http from 'node:http';
import { CapturedFrame, CapturedWay } from '../datapath';
import { DROP_REASONS, parseFlowMatch } from '../flow';
import { PcapngDirection, pcapngHeader, pcapngPacket } from '../packet';
import { SwitchError } from './errors';
import type { Switch } from './switch';

const DIRECTIONS = ['in', 'out', 'both'] as const;

export function serveCapture(sw: Switch, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): void {
  const name = query.get('port') ?? '';
  const direction = (query.get('direction') ?? 'both') as (typeof DIRECTIONS)[number];
  if (!DIRECTIONS.includes(direction)) throw new SwitchError('INVALID_VALUE', `direction must be one of ${DIRECTIONS.join(', ')}`, 400, 'direction');
  const count = query.has('count') ? Number(query.get('count')) : Infinity;
  if (!(count > 0) || (count !== Infinity && !Number.isInteger(count))) throw new SwitchError('INVALID_VALUE', 'count must be a positive integer', 400, 'count');
  const request = { direction, drops: query.get('drops') === '1', match: query.get('match') ?? '' };
  if (request.match) {
    try {
      parseFlowMatch(request.match);
    } catch (error) {
      throw new SwitchError('INVALID_VALUE', (error as Error).message, 400, 'match');
    }
  }
  const local = sw.listPorts().find((p) => p.binding === name || p.name === name || String(p.number) === name);
  const remote = local ? '' : sw.topology.boundElsewhere(name);
  if (!local && !remote) throw new SwitchError('NOT_FOUND', `no port ${name} here, nor a virtual port bound on a host this one reaches`, 404, 'port');
  let written = 0;
  let stop = () => {};
  const end = () => {
    stop();
    res.end();
  };
  const onFrames = (frames: CapturedFrame[]) => {
      for (const f of frames) {
        if (written >= count) break;
        const dropped = f.way === CapturedWay.dropped;
        res.write(pcapngPacket({
          timeUs: f.time * 1000, frame: f.bytes, direction: f.way === CapturedWay.out ? PcapngDirection.outbound : PcapngDirection.inbound,
          ...(dropped ? { comment: `dropped by vswitch: ${DROP_REASONS[f.reason] ?? f.reason}` } : {}),
        }));
        written++;
      }
    if (written >= count) end();
  };
  // Copies of a port on another host come over the overlay (remote-captures.ts).
  stop = local ? sw.captures.start({ port: local.number, ...request }, onFrames) : sw.remoteCaptures.ask(remote, name, request, onFrames);
  res.writeHead(200, { 'content-type': 'application/x-pcapng' });
  res.write(pcapngHeader(local ? `${local.name} (vswitch port ${local.number})` : `${name} (bound on ${remote})`));
  req.on('close', stop);
}
