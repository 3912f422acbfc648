/**
 * How a handler schedules what must follow its response: a broadcast that clients expect after
 * the answer (`thread/started` after `thread/start`'s). `RequestScope` from `@tether/protocol`'s
 * `serve` is one.
 */
export interface AfterReply {
  afterReply(task: () => void | Promise<void>): void;
}
