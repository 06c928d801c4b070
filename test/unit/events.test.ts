import { describe, expect, it, vi } from "vitest";
import { createEmitter } from "../../src/events.js";

const payload = { reason: "manual", attempt: 1 } as const;

describe("createEmitter", () => {
  it("on() delivers the payload and returns a function that unsubscribes", () => {
    const events = createEmitter(() => {});
    const listener = vi.fn();
    const unsubscribe = events.on("refreshing", listener);
    events.emit("refreshing", payload);
    expect(listener).toHaveBeenCalledExactlyOnceWith(payload);
    unsubscribe();
    events.emit("refreshing", payload);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("lets go of what it held once the last listener leaves, and listens again after", () => {
    const events = createEmitter(() => {});
    const first = vi.fn();
    const stop = events.on("refreshing", first);
    const stopOnce = events.once("state", vi.fn());
    stop();
    stopOnce();
    // Nothing is kept for an emitter without listeners (the bus is let go, not left with empty lists).
    expect((events as unknown as { bus: unknown }).bus).toBeNull();
    events.emit("refreshing", payload);
    const later = vi.fn();
    events.on("refreshing", later);
    events.emit("refreshing", payload);
    expect(first).not.toHaveBeenCalled();
    expect(later).toHaveBeenCalledExactlyOnceWith(payload);
    events.off("refreshing", later);
    events.off("state");
    expect((events as unknown as { bus: unknown }).bus).toBeNull();
  });

  it("unsubscribing twice is harmless and leaves other listeners in place", () => {
    const events = createEmitter(() => {});
    const gone = vi.fn();
    const kept = vi.fn();
    const unsubscribe = events.on("refreshing", gone);
    events.on("refreshing", kept);
    unsubscribe();
    unsubscribe();
    events.emit("refreshing", payload);
    expect(gone).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
  });

  it("delivers only to listeners of the emitted event", () => {
    const events = createEmitter(() => {});
    const other = vi.fn();
    events.on("refreshed", other);
    events.emit("refreshing", payload);
    expect(other).not.toHaveBeenCalled();
  });

  it("once() fires once", () => {
    const events = createEmitter(() => {});
    const listener = vi.fn();
    events.once("refreshing", listener);
    events.emit("refreshing", payload);
    events.emit("refreshing", { reason: "expiring", attempt: 2 });
    expect(listener).toHaveBeenCalledExactlyOnceWith(payload);
  });

  it("once() returns a disposer that cancels it before it fires", () => {
    const events = createEmitter(() => {});
    const listener = vi.fn();
    const dispose = events.once("refreshing", listener);
    dispose();
    events.emit("refreshing", payload);
    expect(listener).not.toHaveBeenCalled();
  });

  it("once() that emits the same event from inside its listener still fires once", () => {
    const events = createEmitter(() => {});
    const listener = vi.fn(() => events.emit("refreshing", payload));
    events.once("refreshing", listener);
    events.emit("refreshing", payload);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("a throwing listener does not prevent the other listeners, and is reported", () => {
    const onListenerError = vi.fn();
    const events = createEmitter(onListenerError);
    const before = vi.fn();
    const after = vi.fn();
    const boom = new Error("listener bug");
    events.on("refreshing", before);
    events.on("refreshing", () => {
      throw boom;
    });
    events.on("refreshing", after);
    expect(() => events.emit("refreshing", payload)).not.toThrow();
    expect(before).toHaveBeenCalledTimes(1);
    expect(after).toHaveBeenCalledTimes(1);
    expect(onListenerError).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it("a listener that unsubscribes another during emit does not skip or break the round", () => {
    const events = createEmitter(() => {});
    const second = vi.fn();
    let stopSecond = () => {};
    events.on("refreshing", () => stopSecond());
    stopSecond = events.on("refreshing", second);
    events.emit("refreshing", payload);
    // The round runs over a snapshot; the unsubscribe takes effect from the next emit.
    expect(second).toHaveBeenCalledTimes(1);
    events.emit("refreshing", payload);
    expect(second).toHaveBeenCalledTimes(1);
  });

  it("off() without a listener clears every listener of that event, and only that event", () => {
    const events = createEmitter(() => {});
    const a = vi.fn();
    const b = vi.fn();
    const elsewhere = vi.fn();
    events.on("refreshing", a);
    events.on("refreshing", b);
    events.on("refreshed", elsewhere);
    events.off("refreshing");
    events.emit("refreshing", payload);
    events.emit("refreshed", { expiresAt: null });
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
    expect(elsewhere).toHaveBeenCalledTimes(1);
  });

  it("off() with a listener removes only that listener", () => {
    const events = createEmitter(() => {});
    const a = vi.fn();
    const b = vi.fn();
    events.on("refreshing", a);
    events.on("refreshing", b);
    events.off("refreshing", a);
    events.emit("refreshing", payload);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  it("off() for an event nobody listens to is harmless", () => {
    const events = createEmitter(() => {});
    expect(() => events.off("logged_out")).not.toThrow();
    expect(() => events.off("logged_out", () => {})).not.toThrow();
  });

  it("clear() removes every listener of every event", () => {
    const events = createEmitter(() => {});
    const a = vi.fn();
    const b = vi.fn();
    events.on("refreshing", a);
    events.on("state", b);
    events.clear();
    events.emit("refreshing", payload);
    events.emit("state", { from: "idle", to: "connecting" });
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
  });

  it("on() with a non-function listener throws a TypeError naming the event", () => {
    const events = createEmitter(() => {});
    const notAFunction = "listener" as unknown as () => void;
    expect(() => events.on("refreshing", notAFunction)).toThrow(TypeError);
    expect(() => events.on("refreshing", notAFunction)).toThrow('"refreshing"');
  });
});
