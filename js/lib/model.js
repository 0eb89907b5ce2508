/**
 * Model helpers: trait-change and custom-message subscriptions that end with an
 * AbortSignal, so a view's or model's cleanup removes every model listener at once.
 */

/**
 * Call `handler` when any of `traits` changes, until `signal` aborts.
 * @param {any} model an anywidget model
 * @param {string[]} traits
 * @param {() => void} handler
 * @param {AbortSignal} signal
 */
export function watch(model, traits, handler, signal) {
  for (const trait of traits) {
    const event = `change:${trait}`;
    model.on(event, handler);
    signal.addEventListener("abort", () => model.off(event, handler), { once: true });
  }
}

/**
 * Call `handler(content, buffers)` for each custom message of `kind` from the kernel,
 * until `signal` aborts.
 * @param {any} model
 * @param {string} kind
 * @param {(content: any, buffers: DataView[]) => void} handler
 * @param {AbortSignal} signal
 */
export function onMessage(model, kind, handler, signal) {
  const listener = (content, buffers) => {
    if (content && content.kind === kind) handler(content, buffers || []);
  };
  model.on("msg:custom", listener);
  signal.addEventListener("abort", () => model.off("msg:custom", listener), { once: true });
}

/**
 * Write a trait from the page and sync it to the kernel.
 * @param {any} model
 * @param {string} trait
 * @param {unknown} value
 */
export function setTrait(model, trait, value) {
  model.set(trait, value);
  model.save_changes();
}
