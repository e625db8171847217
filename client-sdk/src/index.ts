// @lookaside/client-sdk: lookaside:/// channels for @grpc/grpc-js, and the backend reporter.
export { registerLookaside, isLookasideRegistered, LOOKASIDE_SCHEME } from './register.js';
export { CLIENT_DEFAULTS, CHANNEL_OPTION, LOOKASIDE_ADDRESS_ENV, ConfigError, type LookasideOptions } from './options.js';
export { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { TOKEN_FILE_ENV, type AuthTokenOptions } from './auth-token.js';
export { LB_POLICY_NAME } from './resolution.js';
export { LB_TOKEN_METADATA_KEY } from './picker.js';
export {
  BackendReporter,
  REPORTER_DEFAULTS,
  shutdownServer,
  type BackendReporterOptions,
  type DrainOptions,
  type DrainResult,
  type LoadSample,
  type Registration,
  type ServingState,
} from './reporter.js';
