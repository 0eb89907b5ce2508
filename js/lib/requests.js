/**
 * Requests from the page to the kernel: `{kind, id, ...fields}`, answered by exactly one
 * `{kind: "reply", id, ok, error?}` (docs/widgets.md). The page never changes a state
 * itself; a reply only tells whether the engine accepted the command.
 */
import { h } from "./dom.js";
import { sendOrFire } from "./kernel_watch.js";
import { onMessage, watch } from "./model.js";

/** Distinguishes the ids of two requesters (views) of one model. */
let requesterCount = 0;

/**
 * A requester for `model`: `request(kind, fields)` sends the request and resolves with its
 * reply. Pending requests are dropped (never resolved) when `signal` aborts. A request that
 * cannot be sent (the kernel is gone) calls `onUnsent` and never resolves.
 * @param {any} model
 * @param {AbortSignal} signal
 * @param {() => void} [onUnsent]
 * @returns {(kind: string, fields?: Record<string, unknown>) => Promise<any>}
 */
export function createRequester(model, signal, onUnsent = () => {}) {
  const prefix = `sc${++requesterCount}-${Math.random().toString(36).slice(2, 8)}`;
  const pending = new Map();
  let next = 0;
  onMessage(
    model,
    "reply",
    (reply) => {
      const resolve = pending.get(reply.id);
      pending.delete(reply.id);
      if (resolve) resolve(reply);
    },
    signal,
  );
  signal.addEventListener("abort", () => pending.clear(), { once: true });
  return (kind, fields = {}) =>
    new Promise((resolve) => {
      const id = `${prefix}-${++next}`;
      pending.set(id, resolve);
      if (!sendOrFire(model, { ...fields, kind, id }, onUnsent)) pending.delete(id);
    });
}

/**
 * The small error line of a widget: the `error` trait's message, or the message of the
 * last failed reply (the kernel sets the trait too, but the reply may arrive first).
 * @param {any} model
 * @param {AbortSignal} signal
 * @returns {{el: HTMLElement, showReply: (reply: any) => void}}
 */
export function createErrorLine(model, signal) {
  const el = h("div", { class: "sc-error", role: "alert" });
  const show = (message) => {
    el.textContent = message || "";
    el.hidden = !message;
  };
  const fromTrait = () => show((model.get("error") || {}).message);
  watch(model, ["error"], fromTrait, signal);
  fromTrait();
  return {
    el,
    showReply: (reply) => (reply && reply.ok === false ? show((reply.error || {}).message) : fromTrait()),
  };
}

/**
 * Wire a button to a request: a click sends `kind` with `fields()` and shows a failed
 * reply on the error line.
 * @param {HTMLElement} button
 * @param {(kind: string, fields?: Record<string, unknown>) => Promise<any>} request
 * @param {string} kind
 * @param {{showReply: (reply: any) => void}} errorLine
 * @param {AbortSignal} signal
 * @param {() => Record<string, unknown>} [fields]
 */
export function bindRequest(button, request, kind, errorLine, signal, fields = () => ({})) {
  button.addEventListener("click", () => request(kind, fields()).then(errorLine.showReply), { signal });
}
