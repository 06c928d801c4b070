/** Small helpers shared by the client's modules. */

/** Does nothing: a listener, a catch handler or a stop function with nothing to do. */
export const noop = (): void => undefined;

/** `list`, or its last `size` items when it is longer: a new, exactly sized array either way. */
export function keepLast<T>(list: T[], size: number): T[] {
  return list.length > size ? list.slice(list.length - size) : list;
}
