import type { Socket } from "socket.io-client";
import { describe, expectTypeOf, it } from "vitest";
import {
  type AuthedSocket,
  type AuthedSocketError,
  type AuthedSocketOptions,
  type AuthedSocketState,
  createAuthedSocket,
  type LoggedOutReason,
  type RefreshReason,
} from "../../src/index.js";

interface ServerToClient {
  message: (from: string, text: string) => void;
}
interface ClientToServer {
  chat: (text: string) => void;
  join: (room: string, ack: (ok: boolean) => void) => void;
}

const refresh = async () => "token";
const client = createAuthedSocket<ServerToClient, ClientToServer>("http://localhost", { refresh });

describe("createAuthedSocket generics", () => {
  it("passes the event maps straight through to the socket.io-client Socket", () => {
    expectTypeOf(client).toEqualTypeOf<AuthedSocket<ServerToClient, ClientToServer>>();
    expectTypeOf(client.socket).toEqualTypeOf<Socket<ServerToClient, ClientToServer>>();
  });

  it("types emit with the client-to-server map", () => {
    client.socket.emit("chat", "hi");
    client.socket.emit("join", "lobby", (ok) => expectTypeOf(ok).toEqualTypeOf<boolean>());
    // @ts-expect-error chat takes a string
    client.socket.emit("chat", 1);
    // @ts-expect-error no such event
    client.socket.emit("nope");
  });

  it("types listeners with the server-to-client map", () => {
    client.socket.on("message", (from, text) => {
      expectTypeOf(from).toEqualTypeOf<string>();
      expectTypeOf(text).toEqualTypeOf<string>();
    });
    // @ts-expect-error no such server event
    client.socket.on("nope", () => {});
  });

  it("uses one map for both directions when only one is given", () => {
    const single = createAuthedSocket<ClientToServer>("http://localhost", { refresh });
    expectTypeOf(single.socket).toEqualTypeOf<Socket<ClientToServer, ClientToServer>>();
  });

  it("accepts any event without generics", () => {
    const loose = createAuthedSocket("http://localhost", { refresh });
    loose.socket.emit("anything", 1, { a: 2 });
  });
});

describe("lifecycle events", () => {
  it("types each payload", () => {
    client.on("authenticated", (e) => {
      expectTypeOf(e.via).toEqualTypeOf<"handshake" | "in-band">();
      expectTypeOf(e.expiresAt).toEqualTypeOf<number | null>();
    });
    client.on("refreshing", (e) => {
      expectTypeOf(e.reason).toEqualTypeOf<RefreshReason>();
      expectTypeOf(e.attempt).toEqualTypeOf<number>();
    });
    client.on("refresh_failed", (e) => {
      expectTypeOf(e.error).toEqualTypeOf<AuthedSocketError>();
      expectTypeOf(e.retryInMs).toEqualTypeOf<number | null>();
    });
    client.on("state", (e) => {
      expectTypeOf(e.from).toEqualTypeOf<AuthedSocketState>();
      expectTypeOf(e.to).toEqualTypeOf<AuthedSocketState>();
    });
    client.on("logged_out", (e) => {
      expectTypeOf(e.reason).toEqualTypeOf<LoggedOutReason>();
    });
  });

  it("on() and once() return their unsubscribe", () => {
    expectTypeOf(client.on("refreshed", () => {})).toEqualTypeOf<() => void>();
    expectTypeOf(client.once("refreshed", () => {})).toEqualTypeOf<() => void>();
  });

  it("rejects unknown events and wrong listener types", () => {
    // @ts-expect-error no such lifecycle event
    client.on("nope", () => {});
    // @ts-expect-error the payload is { reason, attempt }, not { foo }
    client.on("refreshing", (e: { foo: string }) => console.log(e.foo));
    // @ts-expect-error no such lifecycle event
    client.once("connected", () => {});
    // @ts-expect-error no such lifecycle event
    client.off("nope");
  });

  it("waitFor resolves to the event's payload type", () => {
    expectTypeOf(client.waitFor("logged_out")).toEqualTypeOf<
      Promise<{ reason: LoggedOutReason; error?: AuthedSocketError }>
    >();
    expectTypeOf(client.waitFor("authenticated", { timeoutMs: 1000 })).resolves.toHaveProperty("via");
    // @ts-expect-error no such lifecycle event
    client.waitFor("nope");
  });

  it("listeners passed at creation are typed like on()", () => {
    createAuthedSocket("http://localhost", {
      refresh,
      on: { authenticated: (e) => expectTypeOf(e.via).toEqualTypeOf<"handshake" | "in-band">() },
    });
    createAuthedSocket("http://localhost", {
      refresh,
      // @ts-expect-error no such lifecycle event
      on: { nope: () => {} },
    });
  });

  it("exposes state and expiresAt read-only", () => {
    expectTypeOf(client.state).toEqualTypeOf<AuthedSocketState>();
    expectTypeOf(client.expiresAt).toEqualTypeOf<number | null>();
    // @ts-expect-error state is read-only
    client.state = "closed";
  });
});

describe("options", () => {
  it("accepts every token shape from refresh and getToken", () => {
    createAuthedSocket("http://localhost", { refresh: () => "t" });
    createAuthedSocket("http://localhost", { refresh: async () => ({ token: "t", expiresIn: 60_000 }) });
    createAuthedSocket("http://localhost", { refresh: () => ({ token: "t", expiresAt: Date.now() }) });
    createAuthedSocket("http://localhost", { refresh: () => null, getToken: () => localStorageLike() });
    createAuthedSocket("http://localhost", {
      refresh: ({ signal, reason, attempt }) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(reason).toEqualTypeOf<RefreshReason>();
        expectTypeOf(attempt).toEqualTypeOf<number>();
        return "t";
      },
    });
  });

  it("rejects a refresh that returns a number", () => {
    // @ts-expect-error a token is a string, { token, ... } or null
    createAuthedSocket("http://localhost", { refresh: () => 5 });
    // @ts-expect-error a token is a string, { token, ... } or null
    createAuthedSocket("http://localhost", { refresh: async () => ({ token: 5 }) });
  });

  it("requires refresh", () => {
    // @ts-expect-error refresh is required
    createAuthedSocket("http://localhost", {});
  });

  it('rejects tokenIn "cookie" and rotation "x"', () => {
    // @ts-expect-error tokenIn is "auth" | "header" | "query"
    createAuthedSocket("http://localhost", { refresh, tokenIn: "cookie" });
    // @ts-expect-error rotation is "auto" | "reconnect"
    createAuthedSocket("http://localhost", { refresh, rotation: "x" });
  });

  it("types the remaining options", () => {
    expectTypeOf<AuthedSocketOptions["tokenIn"]>().toEqualTypeOf<"auth" | "header" | "query" | undefined>();
    expectTypeOf<AuthedSocketOptions["authErrorEvent"]>().toEqualTypeOf<string | null | undefined>();
    createAuthedSocket("http://localhost", {
      refresh,
      refreshMarginMs: (lifetimeMs) => lifetimeMs / 10,
      retry: { attempts: 5 },
      logger: null,
      isAuthError: (error) => (error.message === "nope" ? true : undefined),
      socket: { autoConnect: false, transports: ["websocket"] },
    });
    // @ts-expect-error jitter is a number
    createAuthedSocket("http://localhost", { refresh, jitter: "0.5" });
    // @ts-expect-error retry.attempts is a number
    createAuthedSocket("http://localhost", { refresh, retry: { attempts: "3" } });
  });
});

function localStorageLike(): string | null {
  return null;
}
