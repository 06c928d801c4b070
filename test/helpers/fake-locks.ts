/**
 * A Web Locks stand-in for Node (which has BroadcastChannel but no navigator.locks): exclusive, FIFO per name, honours
 * the abort signal while a request waits. The counters let tests wait for the queue instead of sleeping.
 */
export function fakeLocks() {
  const queues = new Map<string, Promise<void>>();
  return {
    /** Callbacks running now. */
    held: 0,
    /** Requests made, and requests that came to an end (ran, or were aborted while waiting). */
    requested: 0,
    finished: 0,
    request(
      name: string,
      options: { signal?: AbortSignal },
      callback: () => Promise<unknown>,
    ): Promise<unknown> {
      this.requested++;
      const previous = queues.get(name) ?? Promise.resolve();
      let release: () => void = () => {};
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      queues.set(
        name,
        previous.then(() => mine),
      );
      return new Promise((resolve, reject) => {
        let granted = false;
        options.signal?.addEventListener("abort", () => {
          if (granted) return;
          this.finished++;
          release();
          reject(new DOMException("aborted", "AbortError"));
        });
        void previous.then(async () => {
          if (options.signal?.aborted) return;
          granted = true;
          this.held++;
          try {
            resolve(await callback());
          } catch (error) {
            reject(error);
          } finally {
            this.held--;
            this.finished++;
            release();
          }
        });
      });
    },
  };
}
