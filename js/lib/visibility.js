/**
 * Whether a view is on screen (IntersectionObserver, and the document's visibilityState for
 * hidden tabs), and the model-level aggregate: a model is visible when any of its views is.
 */

/**
 * Call `onChange(visible)` whenever `el` comes on or goes off screen, until `signal` aborts.
 * Starts as not visible; the observer reports the first state right away.
 * @param {HTMLElement} el
 * @param {(visible: boolean) => void} onChange
 * @param {AbortSignal} signal
 */
export function observeVisibility(el, onChange, signal) {
  let intersecting = false;
  let last = null;
  const update = () => {
    const visible = intersecting && document.visibilityState === "visible";
    if (visible !== last) onChange((last = visible));
  };
  const observer = new IntersectionObserver((entries) => {
    intersecting = entries[entries.length - 1].isIntersecting;
    update();
  });
  observer.observe(el);
  document.addEventListener("visibilitychange", update, { signal });
  signal.addEventListener("abort", () => observer.disconnect(), { once: true });
}

/**
 * The aggregate visibility of a model's views: `onChange(visible)` when it flips.
 * @param {(visible: boolean) => void} onChange
 * @returns {{add: () => {set: (visible: boolean) => void, remove: () => void}, visible: () => boolean}}
 */
export function createVisibilityAggregate(onChange) {
  const visibleViews = new Set();
  let visible = false;
  const update = () => {
    const now = visibleViews.size > 0;
    if (now !== visible) onChange((visible = now));
  };
  return {
    add() {
      const token = {};
      return {
        set(viewVisible) {
          if (viewVisible) visibleViews.add(token);
          else visibleViews.delete(token);
          update();
        },
        remove() {
          visibleViews.delete(token);
          update();
        },
      };
    },
    visible: () => visible,
  };
}
