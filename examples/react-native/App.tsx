/**
 * React Native: a snippet app (not built in this repository). The client is created once, outside React's render,
 * and the AppState adapter makes it re-check the token as soon as the app returns to the foreground — timers do not
 * run while a phone sleeps, so without it the first thing after wake-up would be a refused token.
 *
 * Tokens travel in `handshake.auth` (the default) or, for servers that read it, an `Authorization` header
 * (`tokenIn: "header"`, which React Native supports).
 */

import {
  type AuthedSocketState,
  createAuthedSocket,
  reactNativeEnvironment,
  refreshWithFetch,
} from "authed-socket";
import * as SecureStore from "expo-secure-store";
import { useEffect, useState } from "react";
import { AppState, Button, Text, View } from "react-native";

const API = "https://api.example.com";

export const client = createAuthedSocket(API, {
  getToken: () => SecureStore.getItemAsync("access_token"),
  refresh: refreshWithFetch({
    url: `${API}/auth/refresh`,
    body: async () => ({ refreshToken: await SecureStore.getItemAsync("refresh_token") }),
    parse: async (json) => {
      const { accessToken, refreshToken, expiresIn } = json as {
        accessToken: string;
        refreshToken: string;
        expiresIn: number;
      };
      await SecureStore.setItemAsync("access_token", accessToken);
      await SecureStore.setItemAsync("refresh_token", refreshToken);
      return { token: accessToken, expiresIn: expiresIn * 1000 };
    },
  }),
  environment: reactNativeEnvironment(AppState),
  socket: { transports: ["websocket"] },
});

export default function App() {
  const [state, setState] = useState<AuthedSocketState>(client.state);
  useEffect(() => client.on("state", ({ to }) => setState(to)), []);
  useEffect(
    () =>
      client.on("logged_out", async () => {
        await SecureStore.deleteItemAsync("access_token");
        await SecureStore.deleteItemAsync("refresh_token");
      }),
    [],
  );
  return (
    <View>
      <Text>connection: {state}</Text>
      <Button title="Log out" onPress={() => client.logout()} />
    </View>
  );
}
