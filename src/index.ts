export type { AuthedSocket, DefaultEventsMap, EventsMap } from "./client.js";
export { createAuthedSocket } from "./client.js";
export type { Clock, TimerHandle, Timers } from "./clock.js";
export type { CrossTabOptions, CrossTabPlugin } from "./cross-tab.js";
export { crossTab } from "./cross-tab.js";
export type { AppStateLike, Environment } from "./environment.js";
export { browserEnvironment, reactNativeEnvironment } from "./environment.js";
export type { AnyAuthedSocketError, AuthedSocketErrorCode } from "./errors.js";
export { AuthedSocketError, isAuthedSocketError, RefreshError, UnauthorizedError } from "./errors.js";
export type {
  AuthedSocketEventName,
  AuthedSocketEvents,
  AuthedSocketListener,
  AuthedSocketListeners,
  AuthedSocketState,
  LoggedOutReason,
  RefreshReason,
} from "./events.js";
export type { FetchFunction, FetchRefreshBody, FetchRefreshOptions } from "./fetch-refresh.js";
export { refreshWithFetch } from "./fetch-refresh.js";
export type { CounterLike, HistogramLike, MeterLike, MetricAttributes, MetricOptions } from "./meter.js";
export type { InstrumentableClient, InstrumentClientOptions } from "./metrics.js";
export { instrumentClient } from "./metrics.js";
export type {
  AuthedSocketOptions,
  Logger,
  RefreshContext,
  RetryOptions,
  SocketIoOptions,
  TokenResult,
} from "./options.js";
export type { InBandRefreshErrorCode, RefreshAck } from "./protocol.js";
export { HandshakeErrorCode, PROTOCOL_VERSION, ProtocolEvent } from "./protocol.js";
