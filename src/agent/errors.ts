// Errors a caller of the switch can act on: a stable code, a sentence naming the thing and
// the fix, and the request field at fault. The control API maps `status` to HTTP.

export class SwitchError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly field?: string,
  ) {
    super(message);
  }
}
