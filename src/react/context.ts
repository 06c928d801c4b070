import { createContext, useContext, useEffect, useLayoutEffect } from "react";
import type { AuthedSocket, DefaultEventsMap } from "../index.js";

/** The client as the context carries it; each hook narrows it to the event maps its caller names. */
export type AnyClient = AuthedSocket<DefaultEventsMap, DefaultEventsMap>;

/**
 * The provider's client. `undefined` only when there is no provider above (a mistake the hooks report): a provider
 * always has a client, from its first render on, on the server too.
 */
export const AuthedSocketContext = createContext<AnyClient | undefined>(undefined);
AuthedSocketContext.displayName = "AuthedSocketContext";

/** The context's client; throws, naming the hook, when there is no provider above. */
export function useClient(hook: string): AnyClient {
  const client = useContext(AuthedSocketContext);
  if (client === undefined)
    throw new Error(
      `authed-socket/react: ${hook}() must be used inside <AuthedSocketProvider> (no provider above this component)`,
    );
  return client;
}

/**
 * A layout effect in the browser (it runs at commit, before paint and before any socket event can be dispatched),
 * a plain effect on the server, where neither runs and React 18 would warn about the layout one.
 */
export const useCommitEffect = typeof document === "undefined" ? useEffect : useLayoutEffect;
