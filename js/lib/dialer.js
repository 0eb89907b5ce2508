/**
 * The dialer of CallView's idle screen: a "Call…" field completing from the users online
 * (`_online_users`), chips for the chosen callees, Audio call / Video call (`dial`), and the
 * call history (`_call_history`) with a Call back button per entry. A user id that is not
 * online may be typed and called; its chip is marked offline. The dialer tells the kernel
 * whether it is on screen (`_dialer_shown`): the kernel then reloads its lists every 5 s.
 */
import { avatar, h, listen } from "./dom.js";
import { setTrait, watch } from "./model.js";
import { observeVisibility } from "./visibility.js";

/** The history's direction marks (the words are in the row's details; no emoji: a page
 * without an emoji font would show boxes). */
const DIRECTION_ICONS = { placed: "↗", received: "↙", missed: "✗" };

/** How many suggestions the field shows at most. */
const MAX_SUGGESTIONS = 8;

/**
 * How long ago `at` (POSIX seconds) was, in words.
 * @param {(key: string, ...args: string[]) => string} text
 * @param {number} at
 */
function timeAgo(text, at) {
  const minutes = Math.floor((Date.now() / 1000 - at) / 60);
  if (minutes < 1) return text("streamcall_ago_now");
  if (minutes < 60) return text("streamcall_ago_minutes", String(minutes));
  if (minutes < 60 * 24) return text("streamcall_ago_hours", String(Math.floor(minutes / 60)));
  return text("streamcall_ago_days", String(Math.floor(minutes / (60 * 24))));
}

/**
 * A duration in seconds as m:ss.
 * @param {number} seconds
 */
function shortDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

/**
 * Build the dialer element; it follows the model until `signal` aborts.
 * @param {{model: any, request: (kind: string, fields?: Record<string, unknown>) => Promise<any>,
 *   text: (key: string, ...args: string[]) => string, signal: AbortSignal}} options
 * @returns {HTMLElement}
 */
export function createDialer({ model, request, text, signal }) {
  /** @type {string[]} */
  let chosen = [];
  const field = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", class: "sc-dialer-field", autocomplete: "off", "data-role": "dial-field" })
  );
  const chips = h("div", { class: "sc-dialer-chips" });
  const suggestions = h("ul", { class: "sc-dialer-suggestions", role: "listbox" });
  const audioButton = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "sc-button", "data-action": "dial-audio" })
  );
  const videoButton = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "sc-button sc-button--accept", "data-action": "dial-video" })
  );
  const history = h("ol", { class: "sc-history" });
  const historyTitle = h("h3", { class: "sc-history-title" });
  const loginNote = h("p", { class: "sc-idle" });
  const form = h("div", { class: "sc-dialer-form" }, [
    chips,
    field,
    suggestions,
    h("div", { class: "sc-actions" }, [audioButton, videoButton]),
  ]);
  const el = h("div", { class: "sc-dialer" }, [loginNote, form, historyTitle, history]);

  const online = () => /** @type {Array<{user_id: string, name: string, image: string}>} */ (model.get("_online_users") || []);
  const isOnline = (userId) => online().some((u) => u.user_id === userId);
  const nameOf = (userId) => (online().find((u) => u.user_id === userId) || {}).name || userId;

  const drawChips = () => {
    chips.replaceChildren(
      ...chosen.map((userId) =>
        h("span", { class: "sc-chip", "data-user": userId, "data-online": String(isOnline(userId)) }, [
          nameOf(userId),
          isOnline(userId) ? null : h("span", { class: "sc-chip-offline", text: text("streamcall_dialer_offline") }),
          h("button", {
            type: "button",
            class: "sc-chip-remove",
            "data-remove": userId,
            "aria-label": text("streamcall_dialer_remove", nameOf(userId)),
            text: "×",
          }),
        ]),
      ),
    );
    audioButton.disabled = videoButton.disabled = chosen.length === 0;
  };
  const drawSuggestions = () => {
    const typed = field.value.trim().toLowerCase();
    const me = model.get("_dialer_user");
    const matches = typed
      ? online()
          .filter((u) => !chosen.includes(u.user_id) && u.user_id !== me)
          .filter((u) => u.user_id.toLowerCase().includes(typed) || u.name.toLowerCase().includes(typed))
          .slice(0, MAX_SUGGESTIONS)
      : [];
    const nobody = typed && online().length === 0;
    const options = matches.map((u) =>
      h("li", { role: "option", class: "sc-suggestion", "data-user": u.user_id }, [
        avatar(u),
        h("span", { class: "sc-suggestion-name", text: u.name }),
        h("span", { class: "sc-suggestion-id", text: u.user_id }),
      ]),
    );
    if (nobody) options.push(h("li", { class: "sc-suggestion-none", text: text("streamcall_dialer_nobody_online") }));
    suggestions.replaceChildren(...options);
    suggestions.hidden = !matches.length && !nobody;
  };
  const choose = (userId) => {
    const id = userId.trim();
    if (id && !chosen.includes(id)) chosen = [...chosen, id];
    field.value = "";
    drawChips();
    drawSuggestions();
  };
  // A refused dial shows on CallView's error line (the kernel sets the `error` trait).
  const dial = (userIds, video) => request("dial", { user_ids: userIds, video }).then((reply) => {
    if (reply && reply.ok) {
      chosen = [];
      drawChips();
    }
  });
  const drawHistory = () => {
    const rows = model.get("_call_history") || [];
    historyTitle.textContent = text("streamcall_history");
    history.replaceChildren(
      ...(rows.length
        ? rows.map((row) => {
            const names = row.others.map((o) => o.name || o.user_id).join(", ");
            const details = [
              text(`streamcall_history_${row.direction}`),
              text(row.video ? "streamcall_video_call" : "streamcall_audio_call"),
              timeAgo(text, row.at),
            ];
            if (row.duration !== null && row.duration !== undefined) details.push(shortDuration(row.duration));
            const back = h("button", {
              type: "button",
              class: "sc-button sc-history-back",
              "data-action": "call-back",
              "data-call": row.call_id,
              text: text("streamcall_call_back"),
            });
            back.addEventListener("click", () => dial(row.others.map((o) => o.user_id), Boolean(row.video)), { signal });
            return h("li", { class: "sc-history-row", "data-direction": row.direction, "data-call": row.call_id }, [
              h("span", { class: "sc-history-icon", "aria-hidden": "true", text: DIRECTION_ICONS[row.direction] || "" }),
              h("span", { class: "sc-history-names", text: names }),
              h("span", { class: "sc-history-details", text: details.join(" · ") }),
              back,
            ]);
          })
        : [h("li", { class: "sc-history-empty", text: text("streamcall_history_empty") })]),
    );
  };
  const draw = () => {
    const loggedIn = Boolean(model.get("_dialer_user"));
    loginNote.hidden = loggedIn;
    form.hidden = historyTitle.hidden = history.hidden = !loggedIn;
    loginNote.textContent = text("streamcall_dialer_log_in");
    field.placeholder = text("streamcall_dialer_field");
    field.setAttribute("aria-label", text("streamcall_dialer_field"));
    audioButton.textContent = text("streamcall_audio_call");
    videoButton.textContent = text("streamcall_video_call");
    drawChips();
    drawSuggestions();
    drawHistory();
  };

  listen(field, "input", drawSuggestions, signal);
  listen(field, "keydown", (event) => {
    if (event.key === "Enter") {
      const first = suggestions.querySelector("[data-user]");
      choose(first ? first.getAttribute("data-user") : field.value);
    } else if (event.key === "Backspace" && !field.value && chosen.length) {
      chosen = chosen.slice(0, -1);
      drawChips();
    }
  }, signal);
  listen(suggestions, "click", (event) => {
    const option = event.target.closest("[data-user]");
    if (option) choose(option.getAttribute("data-user"));
  }, signal);
  listen(chips, "click", (event) => {
    const remove = event.target.closest("[data-remove]");
    if (!remove) return;
    chosen = chosen.filter((id) => id !== remove.getAttribute("data-remove"));
    drawChips();
  }, signal);
  listen(audioButton, "click", () => dial(chosen, false), signal);
  listen(videoButton, "click", () => dial(chosen, true), signal);

  observeVisibility(el, (visible) => setTrait(model, "_dialer_shown", visible), signal);
  signal.addEventListener("abort", () => setTrait(model, "_dialer_shown", false), { once: true });
  watch(model, ["_online_users", "_call_history", "_dialer_user", "_strings"], draw, signal);
  draw();
  return el;
}
