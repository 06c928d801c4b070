export type { AuthedSocketErrorCode } from "./errors.js";
export { AuthedSocketError, isAuthedSocketError, RefreshError, UnauthorizedError } from "./errors.js";
