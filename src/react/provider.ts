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
  /** Set by the effect's cleanup; a remount that clears it before the microtask runs keeps the client. */
  closing: boolean;
}

/**
 * Makes an {@link AuthedSocket} available to the hooks below it.
 *
 * With `url` and `options` the provider creates the client after its first render (never during render, so server
 * rendering opens nothing) and closes it on unmount. StrictMode's simulated unmount and remount keeps the same
 * client: the close is deferred to a microtask that the remount cancels, so there is one connection and one
 * refresh. With `client` it uses the app's client as is and never closes it.
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

function useOwnedClient(url: string | undefined, options: AuthedSocketOptions | undefined): AnyClient | null {
  const latest = useRef(options);
  const held = useRef<Held | null>(null);
  const [client, setClient] = useState<AnyClient | null>(null);

  useCommitEffect(() => {
    latest.current = options;
  });

  useCommitEffect(() => {
    if (url === undefined) {
      setClient(null);
      return;
    }
    let entry = held.current;
    if (entry && entry.url === url) entry.closing = false;
    else {
      entry = { url, client: createAuthedSocket(url, stableOptions(latest)), closing: false };
      held.current = entry;
    }
    const mine = entry;
    setClient(mine.client);
    return () => {
      mine.closing = true;
      // StrictMode (and Fast Refresh) run this cleanup and the effect again in the same task: the remount clears
      // `closing` before this microtask runs. A real unmount, or a new URL, closes the client.
      queueMicrotask(() => {
        if (!mine.closing) return;
        mine.client.close();
        if (held.current === mine) held.current = null;
      });
    };
  }, [url]);

  return url === undefined ? null : client;
}

/** Options whose callbacks always call the latest ones the provider was rendered with. */
function stableOptions(latest: { readonly current: AuthedSocketOptions | undefined }): AuthedSocketOptions {
  const initial = latest.current ?? ({} as AuthedSocketOptions);
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
