import { Server } from "socket.io";
import { describe, expectTypeOf, it } from "vitest";
import type { HandshakeErrorCode } from "../../src/protocol.js";
import {
  type AuthData,
  type AuthRejection,
  type AuthSocketData,
  authenticate,
  countConnections,
  disconnectUser,
  guardRecovered,
  type JwtClaims,
  jwtVerifier,
  type RefreshAck,
  requireClaims,
  type SocketMiddleware,
  userRoom,
  VerifyError,
} from "../../src/server/index.js";

interface ClientToServer {
  chat: (text: string, ack: (delivered: boolean) => void) => void;
}
interface ServerToClient {
  message: (from: string, text: string) => void;
}
type InterServer = Record<string, never>;

const verify = jwtVerifier({ secret: "secret", algorithms: ["HS256"] });

describe("jwtVerifier", () => {
  it("returns (token) => Promise<claims>", () => {
    expectTypeOf(verify).toEqualTypeOf<(token: string) => Promise<JwtClaims>>();
  });

  it("requires pinned algorithms that fit the key source", () => {
    // @ts-expect-error algorithms are required
    jwtVerifier({ secret: "secret" });
    // @ts-expect-error a secret only verifies HMAC algorithms
    jwtVerifier({ secret: "secret", algorithms: ["RS256"] });
    // @ts-expect-error a public key never verifies HMAC (HS/RS confusion)
    jwtVerifier({ publicKey: "-----BEGIN PUBLIC KEY-----", algorithms: ["HS256"] });
    // @ts-expect-error "none" is not an algorithm
    jwtVerifier({ jwksUrl: "https://issuer/jwks.json", algorithms: ["none"] });
    // @ts-expect-error exactly one key source
    jwtVerifier({ secret: "secret", jwksUrl: "https://issuer/jwks.json", algorithms: ["HS256"] });
    jwtVerifier({
      jwksUrl: new URL("https://issuer/jwks.json"),
      algorithms: ["RS256", "ES256"],
      jwksTimeoutMs: 2000,
    });
    jwtVerifier({
      publicKey: "pem",
      algorithms: ["EdDSA"],
      issuer: ["a", "b"],
      audience: "api",
      requireExp: false,
    });
  });
});

describe("authenticate", () => {
  it("fits io.use() and namespace.use() of a server with typed events", () => {
    const io = new Server<ClientToServer, ServerToClient, InterServer, AuthSocketData>();
    const auth = authenticate({ verify });
    io.use(auth);
    io.of("/admin")
      .use(auth)
      .use(requireClaims((claims) => claims.role === "admin"));
    io.of(/^\/org-\w+$/).use(auth);
    io.on("connection", (socket) => {
      expectTypeOf(socket.data.auth).toEqualTypeOf<AuthData>();
      expectTypeOf(socket.data.auth.subject).toEqualTypeOf<string>();
      expectTypeOf(socket.data.auth.expiresAt).toEqualTypeOf<number | null>();
      expectTypeOf(socket.data.auth.claims).toEqualTypeOf<JwtClaims>();
    });
  });

  it("fits an untyped server and one whose SocketData adds its own fields", () => {
    new Server().use(authenticate({ verify }));
    new Server<ClientToServer, ServerToClient, InterServer, AuthSocketData & { locale: string }>().use(
      authenticate({ verify }),
    );
  });

  it("refuses a SocketData that gives auth another type, or forgets it", () => {
    const clash = new Server<ClientToServer, ServerToClient, InterServer, { auth: string }>();
    // @ts-expect-error socket.data.auth belongs to authenticate()
    clash.use(authenticate({ verify }));
    const forgot = new Server<ClientToServer, ServerToClient, InterServer, { locale: string }>();
    // @ts-expect-error declare auth in SocketData: { locale: string } & AuthSocketData
    forgot.use(authenticate({ verify }));
  });

  it("infers custom claims from the verifier and passes them to every hook", () => {
    interface Claims {
      uid: number;
      role: "admin" | "user";
      exp?: number;
    }
    const auth = authenticate({
      verify: async (token: string): Promise<Claims> => ({ uid: token.length, role: "user" }),
      subject: (claims) => String(claims.uid),
      authorize: (claims, socket) => {
        expectTypeOf(claims).toEqualTypeOf<Claims>();
        expectTypeOf(socket.handshake.address).toEqualTypeOf<string>();
        return claims.role === "admin";
      },
      isRevoked: async (claims) => claims.uid === 0,
    });
    expectTypeOf(auth).toEqualTypeOf<SocketMiddleware<Claims>>();
    new Server<ClientToServer, ServerToClient, InterServer, AuthSocketData<Claims>>().use(auth);
    requireClaims<Claims>((claims) => claims.role === "admin");
  });

  it("checks option types", () => {
    // @ts-expect-error verify is required
    authenticate({});
    // @ts-expect-error tokenFrom knows "auth" and "header" only
    authenticate({ verify, tokenFrom: ["query"] });
    // @ts-expect-error authorize must answer a boolean
    authenticate({ verify, authorize: () => "yes" });
    authenticate({
      verify,
      tokenFrom: ["header", "auth"],
      expiringBeforeMs: 60_000,
      graceMs: 0,
      inBand: false,
      joinUserRoom: false,
      clock: { now: () => 0, setTimeout: () => 1, clearTimeout: () => undefined },
      onReject: (rejection) => expectTypeOf(rejection).toEqualTypeOf<AuthRejection>(),
    });
  });
});

describe("errors and protocol", () => {
  it("VerifyError takes a handshake code only", () => {
    expectTypeOf(new VerifyError("UNAVAILABLE").code).toEqualTypeOf<HandshakeErrorCode>();
    new VerifyError("TOKEN_INVALID", "unknown session", { cause: new Error("x") });
    // @ts-expect-error SUBJECT_MISMATCH is an in-band code, not a handshake code
    new VerifyError("SUBJECT_MISMATCH");
  });

  it("the refresh ack is a discriminated union", () => {
    const ack = {} as RefreshAck;
    if (ack.ok) expectTypeOf(ack.expiresAt).toEqualTypeOf<number | null>();
    else expectTypeOf(ack.code).toExtend<string>();
  });
});

describe("user helpers", () => {
  it("take any server or namespace, whatever its event maps", async () => {
    const io = new Server<ClientToServer, ServerToClient, InterServer, AuthSocketData>();
    const auth = authenticate({ verify });
    expectTypeOf(userRoom("u")).toEqualTypeOf<string>();
    expectTypeOf(countConnections(io, "u")).toEqualTypeOf<Promise<number>>();
    expectTypeOf(await countConnections(io.of("/admin"), "u")).toEqualTypeOf<number>();
    expectTypeOf(disconnectUser(io, "u", "logout")).toEqualTypeOf<void>();
    disconnectUser(new Server().of("/x"), "u");
    guardRecovered(io, auth);
    guardRecovered(io.of("/admin"), auth);
    guardRecovered(io.of(/^\/org-/), auth);
    // @ts-expect-error the subject is a string
    disconnectUser(io, 42);
    // @ts-expect-error a server or namespace is required
    countConnections({}, "u");
  });
});
