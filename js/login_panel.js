/**
 * LoginPanel renderer: the user's form (id, name, avatar URL, and for a server the API key
 * and token), Log in / Log out, and who is logged in with the connection status in words.
 * The form fields are traits; the token is not (a saved notebook would keep it): it travels
 * in the request. When the kernel is gone the panel says so and offers nothing.
 */
import { actionButton, avatar, h, labelled } from "./lib/dom.js";
import { watchKernel } from "./lib/kernel_watch.js";
import { setTrait, watch } from "./lib/model.js";
import { bindRequest, createErrorLine, createRequester } from "./lib/requests.js";
import { tr } from "./lib/strings.js";

/** The form fields that are traits, with the string key of their label and whether only a
 * server (not the embedded coordinator) needs them.
 * @type {Array<[string, string, string, boolean]>} */
const FIELDS = [
  ["user_id", "streamcall_user_id", "text", false],
  ["name", "streamcall_name", "text", false],
  ["image_url", "streamcall_image_url", "url", false],
  ["api_key", "streamcall_api_key", "text", true],
];

/**
 * An input that edits trait `trait` and follows it when Python changes it.
 * @param {any} model
 * @param {string} trait
 * @param {string} type
 * @param {AbortSignal} signal
 * @returns {HTMLInputElement}
 */
function traitInput(model, trait, type, signal) {
  const input = /** @type {HTMLInputElement} */ (h("input", { type, name: trait, autocomplete: "off" }));
  const follow = () => {
    const value = model.get(trait) || "";
    if (input.value !== value) input.value = value;
  };
  input.addEventListener("input", () => setTrait(model, trait, input.value), { signal });
  watch(model, [trait], follow, signal);
  follow();
  return input;
}

/**
 * The logged-in user (avatar and name) and the status in words.
 * @param {any} model
 * @returns {HTMLElement}
 */
function userSummary(model) {
  const user = model.get("current_user") || {};
  const status = model.get("status") || "logged_out";
  return h("div", { class: "sc-user", "data-status": status }, [
    user.user_id ? avatar(user) : null,
    h("div", { class: "sc-user-text" }, [
      user.user_id ? h("div", { class: "sc-user-name", text: user.name || user.user_id }) : null,
      h("div", { class: "sc-status", text: tr(model, `streamcall_status_${status}`) }),
    ]),
  ]);
}

/** Render one LoginPanel view. */
function render({ model, el }) {
  const controller = new AbortController();
  const signal = controller.signal;
  const kernel = watchKernel(model, signal, () => refresh());
  const request = createRequester(model, signal, kernel.fire);
  const errorLine = createErrorLine(model, signal);
  const gone = h("p", { class: "sc-gone", role: "alert", hidden: true });

  const rows = FIELDS.map(([trait, key, type, serverOnly]) => ({
    key,
    serverOnly,
    ...labelled(traitInput(model, trait, type, signal)),
  }));
  const token = /** @type {HTMLInputElement} */ (h("input", { type: "password", name: "token", autocomplete: "off" }));
  const tokenRow = { key: "streamcall_token", ...labelled(token) };
  const devNote = h("p", { class: "sc-note" });
  const login = actionButton("login", "sc-button--primary");
  login.type = "submit";
  const logout = actionButton("logout");
  const summary = h("div", { class: "sc-summary" });
  const form = h("form", { class: "sc-form" }, [
    ...rows.map((row) => row.row),
    tokenRow.row,
    devNote,
    h("div", { class: "sc-actions" }, [login, logout]),
  ]);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = { token: model.get("embedded") ? "" : token.value };
    request("login", fields).then(errorLine.showReply);
  }, { signal });
  bindRequest(logout, request, "logout", errorLine, signal);

  function refresh() {
    for (const row of [...rows, tokenRow]) row.label.textContent = tr(model, row.key);
    const embedded = Boolean(model.get("embedded"));
    for (const row of rows) row.row.hidden = Boolean(row.serverOnly) && embedded;
    tokenRow.row.hidden = embedded;
    devNote.hidden = !embedded;
    devNote.textContent = tr(model, "streamcall_dev_token");
    const loggedIn = ["logged_in", "reconnecting"].includes(model.get("status"));
    login.textContent = tr(model, "streamcall_login");
    logout.textContent = tr(model, "streamcall_logout");
    login.hidden = loggedIn;
    logout.hidden = !loggedIn;
    summary.replaceChildren(userSummary(model));
    el.dataset.kernel = kernel.gone() ? "gone" : "live";
    gone.hidden = !kernel.gone();
    gone.textContent = tr(model, "streamcall_kernel_gone_panel");
    summary.hidden = kernel.gone();
  }
  watch(model, ["_strings", "embedded", "status", "current_user"], refresh, signal);
  refresh();

  el.classList.add("sc-root", "sc-login");
  el.replaceChildren(gone, summary, form, errorLine.el);
  return () => {
    controller.abort();
    el.replaceChildren();
  };
}

export default { render };
