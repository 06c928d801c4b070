"use client";

export type { AuthState } from "./hooks.js";
export { useAuthedSocket, useAuthState, useLifecycleEvent, useSocketEvent } from "./hooks.js";
export type { AuthedSocketProviderProps } from "./provider.js";
export { AuthedSocketProvider } from "./provider.js";
