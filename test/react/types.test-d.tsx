/**
 * Type-level checks of authed-socket/react, compiled by `tsc -p tsconfig.json` (npm test's typecheck step): typed
 * handlers, typed emits, and props that cannot mix the two ways of using the provider.
 */

import type { Socket } from "socket.io-client";
import { expectTypeOf } from "vitest";
import type { AuthedSocket, AuthedSocketState } from "../../src/index.js";
import {
  AuthedSocketProvider,
  type AuthedSocketProviderProps,
  type AuthState,
  useAuthedSocket,
  useAuthState,
  useLifecycleEvent,
  useSocketEvent,
} from "../../src/react/index.js";
import type { ClientToServer, ServerToClient } from "./support.js";

declare const client: AuthedSocket<ServerToClient, ClientToServer>;

export function Typed() {
  const typed = useAuthedSocket<ServerToClient, ClientToServer>();
  // Never null: the provider has its client from the first render on.
  expectTypeOf(typed).toEqualTypeOf<AuthedSocket<ServerToClient, ClientToServer>>();
  typed.socket.emit("echo", "x", (value) => expectTypeOf(value).toEqualTypeOf<string>());
  // @ts-expect-error an event the map does not have
  typed.socket.emit("nope", "x");
  expectTypeOf(useAuthedSocket()).toEqualTypeOf<AuthedSocket>();

  const auth = useAuthState();
  expectTypeOf(auth).toEqualTypeOf<AuthState>();
  expectTypeOf(auth.state).toEqualTypeOf<AuthedSocketState>();
  expectTypeOf(auth.expiresAt).toEqualTypeOf<number | null>();

  useSocketEvent<ServerToClient, "message">("message", (text, from) => {
    expectTypeOf(text).toEqualTypeOf<string>();
    expectTypeOf(from).toEqualTypeOf<string>();
  });
  // @ts-expect-error the handler's parameters must match the map
  useSocketEvent<ServerToClient, "message">("message", (text: number) => text);
  // @ts-expect-error an event the map does not have
  useSocketEvent<ServerToClient, "nope">("nope", () => {});
  useSocketEvent("disconnect", (reason) => expectTypeOf(reason).toEqualTypeOf<Socket.DisconnectReason>());
  useSocketEvent("connect_error", (error) => expectTypeOf(error.message).toBeString());

  useLifecycleEvent("logged_out", ({ reason }) => expectTypeOf(reason).toBeString());
  useLifecycleEvent("authenticated", ({ via }) => expectTypeOf(via).toEqualTypeOf<"handshake" | "in-band">());
  // @ts-expect-error not a lifecycle event
  useLifecycleEvent("message", () => {});
  return null;
}

export const owned = (
  <AuthedSocketProvider url="http://localhost" options={{ refresh: () => null }}>
    <Typed />
  </AuthedSocketProvider>
);
export const given = (
  <AuthedSocketProvider client={client}>
    <Typed />
  </AuthedSocketProvider>
);
const app = { refresh: () => null };
export const givenProps: AuthedSocketProviderProps<ServerToClient, ClientToServer> = { client };
export const ownedProps: AuthedSocketProviderProps = { url: "http://localhost", options: app };
// @ts-expect-error a provider either owns its client (url + options) or is given one, not both
export const both: AuthedSocketProviderProps<ServerToClient, ClientToServer> = {
  client,
  url: "http://localhost",
  options: app,
};
// @ts-expect-error url without options
export const noOptions: AuthedSocketProviderProps = { url: "http://localhost" };
