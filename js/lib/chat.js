/**
 * The chat panel of CallView: the call's messages from the `chat` trait (names, times,
 * one's own on the right, the newest in view) and a text field whose Send button or Enter
 * key sends. Text is always set as textContent, never parsed as HTML. The panel keeps no
 * state of its own: what it lists is the trait, so every view of a model shows the same.
 */
import { h, listen } from "./dom.js";
import { watch } from "./model.js";

/**
 * @typedef {{user_id: string, name: string, text: string, sent_at: string, own: boolean}} ChatMessage
 * One entry of the `chat` trait.
 */

/**
 * Build the chat panel of one view.
 * @param {{
 *   model: any,
 *   send: (text: string) => Promise<unknown>,
 *   text: (key: string, ...args: string[]) => string,
 *   signal: AbortSignal,
 * }} options `send` resolves with the request's reply (`{ok, error?}`); listeners end
 *   when `signal` aborts.
 * @returns {{element: HTMLElement}}
 */
export function createChatPanel({ model, send, text, signal }) {
  const list = h("ol", { class: "sc-chat-list", role: "log", "aria-live": "polite" });
  const empty = h("p", { class: "sc-chat-empty" });
  const input = /** @type {HTMLInputElement} */ (
    h("input", { class: "sc-chat-input", type: "text", autocomplete: "off", "data-role": "chat-text" })
  );
  const button = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "sc-button sc-button--primary", "data-action": "send_message" })
  );
  const error = h("div", { class: "sc-error sc-chat-error", role: "alert", hidden: true });
  const form = h("form", { class: "sc-chat-form" }, [input, button]);
  const title = h("h3", { class: "sc-chat-title" });
  const element = h("section", { class: "sc-chat" }, [title, list, empty, form, error]);

  const label = () => {
    title.textContent = text("streamcall_chat");
    element.setAttribute("aria-label", text("streamcall_chat"));
    empty.textContent = text("streamcall_chat_empty");
    input.placeholder = text("streamcall_message_placeholder");
    input.setAttribute("aria-label", text("streamcall_message_placeholder"));
    button.textContent = text("streamcall_send");
  };

  const render = () => {
    /** @type {ChatMessage[]} */
    const messages = model.get("chat") || [];
    list.replaceChildren(...messages.map(messageItem));
    empty.hidden = messages.length > 0;
    list.scrollTop = list.scrollHeight;
  };

  let sending = false;
  const sendTyped = async () => {
    const typed = input.value;
    if (sending || !typed.trim()) return;
    sending = true;
    button.disabled = true;
    try {
      const reply = /** @type {any} */ (await send(typed));
      const failed = reply && reply.ok === false;
      error.textContent = failed ? (reply.error || {}).message || "" : "";
      error.hidden = !failed;
      if (!failed && input.value === typed) input.value = "";
    } finally {
      sending = false;
      button.disabled = false;
      input.focus();
    }
  };

  listen(
    form,
    "submit",
    (event) => {
      event.preventDefault(); // Enter in the field submits the form: send, never navigate
      void sendTyped();
    },
    signal,
  );
  listen(
    input,
    "keydown",
    (event) => {
      // Enter sends from here: in JupyterLab the notebook's own key handling cancels the
      // form's implicit submission (and would run or edit the cell) once the key bubbles.
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      event.stopPropagation();
      void sendTyped();
    },
    signal,
  );
  watch(model, ["chat"], render, signal);
  watch(model, ["_strings"], label, signal);
  label();
  render();
  return { element };
}

/**
 * One message: the sender's name and the time it was sent, then its text.
 * @param {ChatMessage} message
 * @returns {HTMLElement}
 */
function messageItem(message) {
  const sent = new Date(message.sent_at);
  const time = Number.isNaN(sent.getTime())
    ? ""
    : sent.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return h("li", { class: message.own ? "sc-chat-message sc-chat-own" : "sc-chat-message", "data-user": message.user_id }, [
    h("div", { class: "sc-chat-meta" }, [
      h("span", { class: "sc-chat-name", text: message.name || message.user_id }),
      h("time", { class: "sc-chat-time", datetime: message.sent_at, text: time }),
    ]),
    h("p", { class: "sc-chat-text", text: message.text }),
  ]);
}
