/**
 * What the kernel needs to encode: whether any view of the model is visible and the size,
 * in device pixels, of each tile (docs/widgets.md: `{kind: "viewport", visible, tiles}`).
 * Views measure their tiles; the model merges the views (largest size wins) and sends a
 * message only when the result changes, sizes debounced so a resize drag sends one.
 */
import { createVisibilityAggregate } from "./visibility.js";

/** Size changes are sent after this quiet period (ms). */
const VIEWPORT_DEBOUNCE_MS = 100;

/**
 * Watch the device-pixel size of tile elements, calling `onChange(tiles)` with every tile's
 * `[width, height]` after any of them resizes, until `signal` aborts.
 * @param {(tiles: Record<string, [number, number]>) => void} onChange
 * @param {AbortSignal} signal
 * @returns {{observe: (key: string, el: Element) => void, unobserve: (key: string) => void}}
 */
export function observeTileSizes(onChange, signal) {
  const sizes = new Map();
  const elements = new Map();
  const keyOf = new WeakMap();
  const report = () => onChange(Object.fromEntries(sizes));
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const device = entry.devicePixelContentBoxSize && entry.devicePixelContentBoxSize[0];
      const ratio = window.devicePixelRatio || 1;
      const width = device ? device.inlineSize : Math.round(entry.contentRect.width * ratio);
      const height = device ? device.blockSize : Math.round(entry.contentRect.height * ratio);
      sizes.set(keyOf.get(entry.target), [width, height]);
    }
    report();
  });
  signal.addEventListener("abort", () => observer.disconnect(), { once: true });
  return {
    observe(key, el) {
      elements.set(key, el);
      keyOf.set(el, key);
      observer.observe(el);
    },
    unobserve(key) {
      const el = elements.get(key);
      if (el) observer.unobserve(el);
      elements.delete(key);
      sizes.delete(key);
      report();
    },
  };
}

/**
 * The model-level viewport reporter. `onVisible(visible)` also runs when the aggregate
 * visibility flips (the call view uses it for the incoming-call notification).
 * @param {any} model
 * @param {AbortSignal} signal
 * @param {(visible: boolean) => void} onVisible
 */
export function createViewportReporter(model, signal, onVisible) {
  const viewTiles = new Map();
  let sent = "";
  let timer = 0;

  const merged = () => {
    const tiles = {};
    for (const sizes of viewTiles.values()) {
      for (const [key, [width, height]] of Object.entries(sizes)) {
        const [w, hgt] = tiles[key] || [0, 0];
        tiles[key] = [Math.max(w, width), Math.max(hgt, height)];
      }
    }
    return tiles;
  };

  const flush = () => {
    clearTimeout(timer);
    timer = 0;
    const message = { kind: "viewport", visible: visibility.visible(), tiles: merged() };
    const text = JSON.stringify(message);
    if (text === sent || signal.aborted) return;
    sent = text;
    model.send(message);
  };

  const visibility = createVisibilityAggregate((visible) => {
    flush();
    onVisible(visible);
  });
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });

  return {
    /** Register a view: its visibility and its tiles' sizes. */
    addView() {
      const token = {};
      const view = visibility.add();
      return {
        setVisible: view.set,
        setTiles(tiles) {
          viewTiles.set(token, tiles);
          clearTimeout(timer);
          timer = setTimeout(flush, VIEWPORT_DEBOUNCE_MS);
        },
        remove() {
          viewTiles.delete(token);
          view.remove();
          flush();
        },
      };
    },
    visible: visibility.visible,
  };
}
