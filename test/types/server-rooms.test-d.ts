import { describe, expectTypeOf, it } from "vitest";
import { type AuthedSocket, type AuthedSocketEvents, createAuthedSocket } from "../../src/index.js";
import { authenticate, type RoomsRevokedPayload } from "../../src/server/index.js";

describe("room guards: types", () => {
  it("the rooms predicate sees the app's claims type and must answer a boolean at once", () => {
    const verify = async (_token: string) => ({ sub: "u", roles: ["admin"] as string[] });
    authenticate({ verify, rooms: (claims, room) => room !== "admin" || claims.roles.includes("admin") });
    // @ts-expect-error an async guard cannot answer socket.join at once
    authenticate({ verify, rooms: async () => true });
  });

  it("rooms_left carries the payload of auth:rooms_revoked", () => {
    expectTypeOf<AuthedSocketEvents["rooms_left"]>().toEqualTypeOf<RoomsRevokedPayload>();
    const client: AuthedSocket = createAuthedSocket("http://127.0.0.1", { refresh: async () => null });
    client.on("rooms_left", ({ rooms }) => {
      expectTypeOf(rooms).toEqualTypeOf<string[]>();
    });
  });
});
