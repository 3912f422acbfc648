export { type DockerfileFacts, readDockerfile } from './dockerfile.js';
export { type PgrepOptions, pgrep, pidAlive } from './processes.js';
export {
  type CliLaunchOptions,
  type LaunchOptions,
  launchAppServer,
  launchExecServer,
  launchServer,
  ServerProcess,
} from './server-process.js';
export { tempHome, tempHomeOutsideTmp } from './temp.js';
export {
  Changes,
  sleep,
  type WaitForOptions,
  WaitForTimeoutError,
  waitFor,
} from './wait.js';
export { expectReferenceShape, expectWireShape, WireShapeError } from './wire-shape.js';
