/**
 * The permission requests over a host's video: "Bob asks to speak" with Grant and Deny,
 * one line per open request, from the `permission_requests` of the `call` trait. The
 * notices keep no state: what they list is the trait, so every view of a model shows the
 * same, and an answered request goes when the kernel drops it. One click listener (on the
 * list, ended by `signal`) answers with the `grant_permissions` / `deny_permissions`
 * requests of CallView. Names are set as textContent, never parsed as HTML.
 */
import { h, listen } from "./dom.js";

/**
 * @typedef {{user_id: string, name: string, permissions: string[]}} PermissionRequest
 * One entry of the call trait's `permission_requests`.
 */

/** What each asked capability is called in the notice's sentence. */
const ASKS = {
  "send-audio": "streamcall_asks_to_speak",
  "send-video": "streamcall_asks_for_video",
  screenshare: "streamcall_asks_to_share",
};

/**
 * Build the notices of one view.
 * @param {(kind: string, fields: object) => unknown} request sends a CallView request
 * @param {AbortSignal} signal ends the click listener
 * @returns {{element: HTMLElement, update: (asked: PermissionRequest[], text: (key: string, ...args: string[]) => string) => void}}
 */
export function createPermissionNotices(request, signal) {
  const element = h("ul", { class: "sc-asks", role: "status", hidden: true });
  /** @type {Map<string, PermissionRequest>} */
  let shown = new Map();
  listen(element, "click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest("[data-answer]");
    const asked = button && shown.get(button.getAttribute("data-user") || "");
    if (!button || !asked) return;
    const kind = button.getAttribute("data-answer") === "grant" ? "grant_permissions" : "deny_permissions";
    request(kind, { user_id: asked.user_id, permissions: asked.permissions });
  }, signal);

  /**
   * @param {PermissionRequest[]} asked
   * @param {(key: string, ...args: string[]) => string} text
   */
  const update = (asked, text) => {
    shown = new Map(asked.map((r) => [r.user_id, r]));
    element.hidden = asked.length === 0;
    element.replaceChildren(...asked.map((r) => {
      const key = r.permissions.length === 1 ? ASKS[r.permissions[0]] : undefined;
      const sentence = text(key || "streamcall_asks_for", r.name, r.permissions.join(", "));
      const answer = (/** @type {string} */ how, /** @type {string} */ label) =>
        h("button", { type: "button", class: how === "grant" ? "sc-button sc-button--primary" : "sc-button", "data-answer": how, "data-user": r.user_id, text: text(label) });
      return h("li", { class: "sc-ask", "data-user": r.user_id }, [
        h("span", { text: sentence }),
        answer("grant", "streamcall_grant"),
        answer("deny", "streamcall_deny"),
      ]);
    }));
  };
  return { element, update };
}
