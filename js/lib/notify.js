/**
 * The incoming-call notification shown when no call view is on screen: JupyterLab's own
 * notification (with Accept / Reject actions) when the page is JupyterLab, else a toast
 * fixed in a corner of the page. Either is closed when the call stops ringing.
 */
import { actionButton, h } from "./dom.js";

/** Routes from notification actions (global commands) to the model that showed them. */
const NOTIFY_ROUTES_KEY = Symbol.for("streamcall.notify.routes");

/**
 * The route table, shared through globalThis because JupyterLab commands are global and
 * outlive one load of this module (a re-run cell loads the module again).
 * @returns {Map<string, (action: string) => void>}
 */
function notifyRoutes() {
  globalThis[NOTIFY_ROUTES_KEY] = globalThis[NOTIFY_ROUTES_KEY] || new Map();
  return globalThis[NOTIFY_ROUTES_KEY];
}

/**
 * Register the `streamcall:accept` / `streamcall:reject` commands once per application.
 * @param {any} app the JupyterLab application
 */
function ensureNotifyCommands(app) {
  for (const action of ["accept", "reject"]) {
    const id = `streamcall:${action}`;
    if (app.commands.hasCommand(id)) continue;
    app.commands.addCommand(id, {
      label: action,
      execute: (args) => notifyRoutes().get(args.route)?.(action),
    });
  }
}

/**
 * @typedef {{message: string, acceptLabel: string, rejectLabel: string, onAction: (action: "accept" | "reject") => void}} IncomingNotice
 */

/**
 * Show the notice through JupyterLab's notification center.
 * @param {any} app
 * @param {IncomingNotice} notice
 * @returns {() => void} closes the notification
 */
function notifyInLab(app, notice) {
  ensureNotifyCommands(app);
  const route = `route-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  notifyRoutes().set(route, notice.onAction);
  const action = (name, label, displayType) => ({ label, commandId: `streamcall:${name}`, args: { route }, displayType });
  const shown = Promise.resolve(
    app.commands.execute("apputils:notify", {
      message: notice.message,
      type: "info",
      options: {
        autoClose: false,
        actions: [action("accept", notice.acceptLabel, "accent"), action("reject", notice.rejectLabel, "warn")],
      },
    }),
  );
  return () => {
    notifyRoutes().delete(route);
    shown.then((id) => app.commands.execute("apputils:dismiss-notification", { id })).catch(() => {});
  };
}

/**
 * Show the notice as a toast at the bottom right of the page.
 * @param {IncomingNotice} notice
 * @returns {() => void} removes the toast
 */
function notifyWithToast(notice) {
  const controller = new AbortController();
  const button = (name, label) => {
    const el = actionButton(name, `sc-button--${name}`);
    el.textContent = label;
    el.addEventListener("click", () => notice.onAction(name), { signal: controller.signal });
    return el;
  };
  const toast = h("div", { class: "sc-root sc-toast", role: "alertdialog", "aria-label": notice.message }, [
    h("div", { class: "sc-toast-message", text: notice.message }),
    h("div", { class: "sc-actions" }, [button("accept", notice.acceptLabel), button("reject", notice.rejectLabel)]),
  ]);
  document.body.append(toast);
  return () => {
    controller.abort();
    toast.remove();
  };
}

/**
 * Show an incoming-call notice, the JupyterLab way when running in JupyterLab.
 * @param {IncomingNotice} notice
 * @returns {() => void} closes it
 */
export function showIncomingNotice(notice) {
  const app = window.jupyterapp;
  return app && app.commands ? notifyInLab(app, notice) : notifyWithToast(notice);
}

/** How long an error notice stays (ms). */
const ERROR_NOTICE_MS = 8000;

/**
 * Say that an action of a notice failed (Accept while already in a call): no call view is
 * on screen to show it on its error line. JupyterLab's notification when there, else a toast.
 * @param {string} message
 */
export function showErrorNotice(message) {
  const app = window.jupyterapp;
  if (app && app.commands) {
    app.commands
      .execute("apputils:notify", { message, type: "error", options: { autoClose: ERROR_NOTICE_MS } })
      .catch(() => {});
    return;
  }
  const toast = h("div", { class: "sc-root sc-toast sc-error", role: "alert", text: message });
  document.body.append(toast);
  setTimeout(() => toast.remove(), ERROR_NOTICE_MS);
}
