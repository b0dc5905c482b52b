// Where the agent's control socket is unless it is told. The commands that talk to a running
// agent load this file alone: the agent's own module loads the whole switch.
export const DEFAULT_SOCKET = process.env.VSWITCH_SOCKET ?? '/run/vswitch/vswitch.sock';
