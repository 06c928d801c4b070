/**
 * A real NestJS application with a socket.io gateway (@nestjs/websockets, @nestjs/platform-socket.io), on
 * 127.0.0.1 and a port the OS chooses, written as NestJS apps commonly check tokens: in the gateway's
 * `handleConnection`, verifying the JWT and calling `client.disconnect()` when it is bad. The gateway answers `echo`
 * with its argument (an ack). Decorators are applied as functions, so no decorator syntax or metadata emit is
 * needed from the test's compiler.
 */
import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { SubscribeMessage, WebSocketGateway } from "@nestjs/websockets";
import { jwtVerify } from "jose";
import type { Socket } from "socket.io";
import { TEST_SECRET } from "./jwt.js";

export interface NestServer {
  url: string;
  /** The verdict of every connection the gateway saw, in order. */
  verdicts: Array<"accepted" | "refused">;
  stop(): Promise<void>;
}

export async function startNestServer(options: { refuseAll?: boolean } = {}): Promise<NestServer> {
  const verdicts: NestServer["verdicts"] = [];

  class AuthGateway {
    async handleConnection(client: Socket): Promise<void> {
      try {
        const token = (client.handshake.auth as { token?: unknown }).token;
        if (typeof token !== "string") throw new Error("no token");
        await jwtVerify(token, TEST_SECRET, { algorithms: ["HS256"] });
        if (options.refuseAll) throw new Error("refused");
        verdicts.push("accepted");
      } catch {
        verdicts.push("refused");
        client.disconnect();
      }
    }

    echo(_client: Socket, value: unknown): unknown {
      return value;
    }
  }
  const echo = Object.getOwnPropertyDescriptor(AuthGateway.prototype, "echo");
  SubscribeMessage("echo")(AuthGateway.prototype, "echo", echo as PropertyDescriptor);
  WebSocketGateway({ cors: false })(AuthGateway);

  class AppModule {}
  Module({ providers: [AuthGateway] })(AppModule);

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, "127.0.0.1");
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { url: `http://127.0.0.1:${port}`, verdicts, stop: () => app.close() };
}
