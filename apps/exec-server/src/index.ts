export {
  type CliOptions,
  cliOptionsFrom,
  type ExecServerCommand,
  execServerCli,
  HELP,
  parseCli,
  USAGE,
} from './cli-options.js';
export { describeDecodeFailure, serdeJsonError } from './parse-error.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_WRITER_HIGH_WATER_BYTES,
  type ExecServer,
  type ExecServerOptions,
  startExecServer,
} from './server.js';
