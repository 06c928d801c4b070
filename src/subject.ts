import { jwtDecode } from "jwt-decode";

/** The `sub` claim of a JWT; undefined for opaque tokens or tokens without a string subject. Never throws. */
export function subjectOf(token: string): string | undefined {
  try {
    const claims = jwtDecode<{ sub?: unknown }>(token);
    return claims !== null && typeof claims === "object" && typeof claims.sub === "string"
      ? claims.sub
      : undefined;
  } catch {
    return undefined;
  }
}
