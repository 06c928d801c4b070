/**
 * Resume signals: moments when timers may have been frozen (background tab, sleeping laptop, app in background) and
 * the token must be re-checked at once.
 */
export interface Environment {
  /** Calls `listener` whenever the app comes back; returns a function that stops listening. */
  onResume(listener: () => void): () => void;
}

/** No signals (Node): the client relies on its timers noticing they fired late. */
export const noEnvironment: Environment = { onResume: () => () => {} };

interface EventTargetish {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Browser signals: the page becomes visible again, or the network comes back online. */
export function browserEnvironment(): Environment {
  const g = globalThis as {
    document?: EventTargetish & { visibilityState?: string };
    addEventListener?: unknown;
  };
  return {
    onResume(listener) {
      const doc = g.document;
      const win =
        typeof g.addEventListener === "function" ? (globalThis as unknown as EventTargetish) : undefined;
      const onVisible = () => {
        if (doc?.visibilityState !== "hidden") listener();
      };
      doc?.addEventListener("visibilitychange", onVisible);
      win?.addEventListener("online", listener);
      return () => {
        doc?.removeEventListener("visibilitychange", onVisible);
        win?.removeEventListener("online", listener);
      };
    },
  };
}

/** The slice of React Native's `AppState` the adapter uses. */
export interface AppStateLike {
  addEventListener(type: "change", listener: (state: string) => void): { remove(): void };
}

/**
 * React Native signals: `AppState` turning `active`.
 *
 * @example
 * ```ts
 * import { AppState } from "react-native";
 * createAuthedSocket(url, { refresh, environment: reactNativeEnvironment(AppState) });
 * ```
 */
export function reactNativeEnvironment(appState: AppStateLike): Environment {
  if (!appState || typeof appState.addEventListener !== "function")
    throw new TypeError("authed-socket: reactNativeEnvironment(AppState) needs React Native's AppState");
  return {
    onResume(listener) {
      const subscription = appState.addEventListener("change", (state) => {
        if (state === "active") listener();
      });
      return () => subscription.remove();
    },
  };
}

/** Picks browser signals where a DOM exists, none elsewhere (Node, React Native without an adapter). */
export function detectEnvironment(): Environment {
  return typeof (globalThis as { document?: unknown }).document === "object"
    ? browserEnvironment()
    : noEnvironment;
}
