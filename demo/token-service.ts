/**
 * The demo's token service: `POST /login` and `POST /refresh`, with short-lived HS256 access tokens and rotating
 * refresh tokens. Each refresh token can be used once; presenting a used one again is treated as theft (reuse
 * detection) and revokes the whole session, as serious identity providers do. That is exactly the situation where a
 * client that refreshes twice concurrently logs its user out — which authed-socket's single flight prevents.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SignJWT } from "jose";

export interface TokenServiceOptions {
  secret: Uint8Array;
  /** Access token lifetime in seconds. */
  ttlSec: number;
  issuer?: string;
  audience?: string;
  /** Users and passwords allowed to log in. */
  users: Record<string, string>;
  /** Called when reuse detection revokes a session: the socket server disconnects the user's devices. */
  onRevoke?: (subject: string, reason: string) => void;
}

interface Session {
  id: string;
  subject: string;
  device: string;
  /** The one refresh token that is valid now; any earlier one of this session presented again is reuse. */
  current: string;
  revoked: boolean;
}

export interface TokenStats {
  logins: number;
  refreshes: number;
  reuseDetected: number;
  refused: number;
}

export function createTokenService(options: TokenServiceOptions) {
  const sessions = new Map<string, Session>();
  const byRefreshToken = new Map<string, Session>();
  const stats: TokenStats = { logins: 0, refreshes: 0, reuseDetected: 0, refused: 0 };

  async function accessToken(session: Session): Promise<string> {
    let jwt = new SignJWT({ sid: session.id, device: session.device })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(session.subject)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${options.ttlSec}s`);
    if (options.issuer) jwt = jwt.setIssuer(options.issuer);
    if (options.audience) jwt = jwt.setAudience(options.audience);
    return jwt.sign(options.secret);
  }

  function issueRefreshToken(session: Session): string {
    const token = randomBytes(24).toString("base64url");
    session.current = token;
    byRefreshToken.set(token, session);
    return token;
  }

  async function tokens(session: Session) {
    return {
      accessToken: await accessToken(session),
      refreshToken: issueRefreshToken(session),
      expiresIn: options.ttlSec,
    };
  }

  function revokeSession(session: Session, reason: string): void {
    if (session.revoked) return;
    session.revoked = true;
    options.onRevoke?.(session.subject, reason);
  }

  async function login(user: string, password: string, device: string) {
    if (options.users[user] === undefined || options.users[user] !== password) return null;
    stats.logins++;
    const session: Session = { id: randomUUID(), subject: user, device, current: "", revoked: false };
    sessions.set(session.id, session);
    return tokens(session);
  }

  async function refresh(refreshToken: string) {
    const session = byRefreshToken.get(refreshToken);
    if (!session || session.revoked) {
      stats.refused++;
      return null;
    }
    if (session.current !== refreshToken) {
      // A rotated-away token came back: somebody holds a copy. End the session for everyone.
      stats.reuseDetected++;
      revokeSession(session, "refresh token reuse detected");
      return null;
    }
    stats.refreshes++;
    return tokens(session);
  }

  /** Revokes every session of a user (the admin's "sign out everywhere"); the caller disconnects the devices. */
  function revokeUser(subject: string): void {
    for (const session of sessions.values()) if (session.subject === subject) session.revoked = true;
  }

  /** A Node HTTP handler for `/login` and `/refresh`; returns false for other paths. */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || (path !== "/login" && path !== "/refresh")) return false;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      if (body === null || typeof body !== "object") throw new Error("not an object");
    } catch {
      send(res, 400, { error: "invalid_request" });
      return true;
    }
    if (path === "/login") {
      const result = await login(
        String(body.user ?? ""),
        String(body.password ?? ""),
        String(body.device ?? "default"),
      );
      send(res, result ? 200 : 401, result ?? { error: "invalid_credentials" });
      return true;
    }
    const result = await refresh(String(body.refreshToken ?? ""));
    send(res, result ? 200 : 401, result ?? { error: "invalid_grant" });
    return true;
  }

  return { handle, login, refresh, revokeUser, stats };
}

export type TokenService = ReturnType<typeof createTokenService>;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}
