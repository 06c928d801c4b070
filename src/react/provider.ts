import { createElement, type ReactElement, type ReactNode, useRef, useState } from "react";
import {
  type AuthedSocket,
  type AuthedSocketOptions,
  createAuthedSocket,
  type DefaultEventsMap,
  type EventsMap,
} from "../index.js";
import { type AnyClient, AuthedSocketContext, useCommitEffect } from "./context.js";

/** Props of {@link AuthedSocketProvider}: either `url` + `options` (the provider owns the client) or `client`. */
export type AuthedSocketProviderProps<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> = (
  | {
      /** The server's URL. Changing it closes the client and creates a new one for the new URL. */
      url: string;
      /**
       * The client's options, read when the client is created. A new object on every render is fine: it neither
       * recreates nor reconnects the client. `getToken`, `refresh`, `isAuthError` and the `on` listeners present
       * at creation always call the latest function passed; other fields changed later are ignored (give the
       * provider a new `key` to start over with them).
       */
      options: AuthedSocketOptions;
      client?: never;
    }
  | {
      /** A client the app created (and closes). The provider never connects, logs out or closes it. */
      client: AuthedSocket<ListenEvents, EmitEvents>;
      url?: never;
      options?: never;
    }
) & { children?: ReactNode };

interface Held {
  url: string;
  client: AnyClient;
  /** Whether the app's own options leave connecting to the provider (`socket.autoConnect` not false). */
  autoConnect: boolean;
  /** Set once the provider's commit connected (or, with `autoConnect: false`, adopted) the client. */
  started: boolean;
  /** Set by the effect's cleanup; a remount that clears it before the microtask runs keeps the client. */
  closing: boolean;
}

/**
 * Makes an {@link AuthedSocket} available to the hooks below it.
 *
 * With `url` and `options` the provider owns the client: it creates it during its first render, inert (created
 * with `autoConnect: false`, it opens no connection and starts no timer), connects it in its first commit, and
 * closes it on unmount. So `useAuthedSocket()` has a client from the first render on, and server rendering, where
 * effects never run, opens nothing. A render React throws away (StrictMode's second render, an interrupted
 * transition) may create a client that is never connected and holds nothing. StrictMode's simulated unmount and
 * remount keeps the same client: the close is deferred to a microtask that the remount cancels, so there is one
 * connection and one refresh. With `client` it uses the app's client as is and never connects or closes it.
 *
 * @example
 * ```tsx
 * <AuthedSocketProvider url="https://chat.example.com" options={{ getToken, refresh }}>
 *   <Chat />
 * </AuthedSocketProvider>
 * ```
 */
export function AuthedSocketProvider<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
>(props: AuthedSocketProviderProps<ListenEvents, EmitEvents>): ReactElement {
  const given = props.client as AnyClient | undefined;
  // Hooks run in the same order either way; with `client` the owned-client hook is told there is no URL.
  const owned = useOwnedClient(given ? undefined : props.url, props.options);
  return createElement(AuthedSocketContext.Provider, { value: given ?? owned }, props.children);
}

function useOwnedClient(
  url: string | undefined,
  options: AuthedSocketOptions | undefined,
): AnyClient | undefined {
  const latest = useRef(options);
  const create = (forUrl: string): Held => hold(forUrl, options, latest);
  const [held, setHeld] = useState<Held | null>(() => (url === undefined ? null : create(url)));

  // A new URL (or none) derives new state during render: React renders again at once with it, before committing,
  // and the commit's cleanup closes the client of the old URL.
  let current = held;
  if (url === undefined ? held !== null : held === null || held.url !== url) {
    current = url === undefined ? null : create(url);
    setHeld(current);
  }

  useCommitEffect(() => {
    latest.current = options;
  });

  useCommitEffect(() => {
    if (!held) return;
    // A remount after a real close (React's Activity showing a hidden tree again, say): start over with a new client.
    if (held.client.state === "closed") {
      setHeld(create(held.url));
      return;
    }
    held.closing = false;
    if (!held.started) {
      held.started = true;
      if (held.autoConnect) held.client.connect();
    }
    const mine = held;
    return () => {
      mine.closing = true;
      // StrictMode (and Fast Refresh) run this cleanup and the effect again in the same task: the remount clears
      // `closing` before this microtask runs. A real unmount, or a new URL, closes the client.
      queueMicrotask(() => {
        if (mine.closing) mine.client.close();
      });
    };
  }, [held]);

  return current?.client;
}

/**
 * A new client for `url`, created with `autoConnect: false` whatever the app passed, so that creating it during
 * render reaches nothing outside it; the provider's commit connects it (unless the app's options say not to).
 */
function hold(
  url: string,
  options: AuthedSocketOptions | undefined,
  latest: { readonly current: AuthedSocketOptions | undefined },
): Held {
  const stable = stableOptions(options, latest);
  const socket = stable.socket as unknown;
  // A `socket` that is not an object is passed as is, so the client's validation names it (and throws).
  if (socket === undefined || (typeof socket === "object" && socket !== null && !Array.isArray(socket)))
    stable.socket = { ...(socket as AuthedSocketOptions["socket"]), autoConnect: false };
  const autoConnect = (socket as { autoConnect?: unknown } | undefined)?.autoConnect !== false;
  return { url, client: createAuthedSocket(url, stable), autoConnect, started: false, closing: false };
}

/** Options whose callbacks always call the latest ones the provider was rendered with. */
function stableOptions(
  given: AuthedSocketOptions | undefined,
  latest: { readonly current: AuthedSocketOptions | undefined },
): AuthedSocketOptions {
  const initial = given ?? ({} as AuthedSocketOptions);
  const now = () => latest.current ?? initial;
  const options: AuthedSocketOptions = { ...initial };
  // A missing or wrong `refresh` is passed as is, so the client's validation names it.
  if (typeof initial.refresh === "function") options.refresh = (context) => now().refresh(context);
  if (initial.getToken === undefined || typeof initial.getToken === "function")
    options.getToken = () => {
      const getToken = now().getToken;
      return getToken ? getToken() : null;
    };
  if (typeof initial.isAuthError === "function") options.isAuthError = (error) => now().isAuthError?.(error);
  if (initial.on && typeof initial.on === "object") {
    const on: Record<string, (payload: never) => void> = {};
    for (const event of Object.keys(initial.on))
      on[event] = (payload) => {
        const listener = (now().on as Record<string, ((payload: never) => void) | undefined> | undefined)?.[
          event
        ];
        listener?.(payload);
      };
    options.on = on;
  }
  return options;
}
