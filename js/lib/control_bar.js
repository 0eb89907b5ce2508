/**
 * The call controls over the video: round icon buttons built from a declarative list, one
 * entry per control (see `CALL_CONTROLS` in call_view.js and docs/widgets.md, "Call
 * controls"). Each entry says what the button does — a page request, an action in the page,
 * or a panel it opens over the video — when it shows, and its on/off state; the bar redraws
 * them all from the model's traits, so adding a control is adding one entry.
 */
import { h } from "./dom.js";
import { icon } from "./icons.js";

/**
 * What a control sees when the bar is drawn.
 * @typedef {object} ControlContext
 * @property {any} model the CallView model
 * @property {any} call the `call` trait
 * @property {{microphone?: boolean, camera?: boolean}} media the `local_media` trait
 * @property {string} layout the `tile_layout` trait
 * @property {(key: string, ...args: string[]) => string} text a localized string
 * @property {(kind: string, fields?: Record<string, unknown>) => Promise<any>} request send
 *   a page request; resolves with its reply (a failed one also shows on the error line)
 */

/**
 * One control of the bar.
 * @typedef {object} CallControl
 * @property {string} action the button's `data-action` (stable: tests and users rely on it)
 * @property {string} icon its icon (a name in lib/icons.js)
 * @property {string | ((ctx: ControlContext) => string)} label the string key of its name
 *   (aria-label and tooltip)
 * @property {(ctx: ControlContext) => boolean} visible whether it shows now
 * @property {(ctx: ControlContext) => boolean} [pressed] for a toggle: whether it is on
 *   (aria-pressed, and a highlighted button)
 * @property {boolean} [crossWhenOff] cross the icon out while `pressed` is false (a
 *   microphone or camera that is off)
 * @property {(ctx: ControlContext) => string} [state] the string key saying its state
 *   ("Microphone off"), added to the tooltip
 * @property {string} [request] the page request a click sends (a kind of CallView.requests)
 * @property {(ctx: ControlContext) => void} [run] what a click does instead, in the page
 * @property {(ctx: ControlContext, close: () => void, signal: AbortSignal) => HTMLElement} [panel]
 *   a click opens (or closes) this content in the panel over the video; it is built anew on
 *   each opening, and `signal` aborts when it closes (end its listeners with it)
 * @property {"danger"} [variant] a red button (hang up)
 * @property {(ctx: ControlContext) => number} [badge] a count shown on the button while
 *   above 0 (unread chat messages)
 */

/**
 * The bar of `controls`, and the panel area one of them may open.
 * @param {CallControl[]} controls
 * @param {AbortSignal} signal
 * @returns {{bar: HTMLElement, panel: HTMLElement, update: (ctx: ControlContext) => void}}
 */
export function createControlBar(controls, signal) {
  const bar = h("div", { class: "sc-controls", role: "toolbar" });
  // JupyterLab's shortcuts must not take the keys typed into a panel: Enter (run or edit
  // the cell) in the chat's field, the digits and letters (cell type, insert) on a keypad.
  const panel = h("div", { class: "sc-panel", hidden: true, "data-lm-suppress-shortcuts": "true" });
  /** @type {ControlContext | null} */
  let context = null;
  /** @type {string} the action whose panel is open, "" when none */
  let open = "";
  /** @type {AbortController | null} ends the open panel's listeners */
  let panelLife = null;

  const buttons = controls.map((control) => {
    const button = /** @type {HTMLButtonElement} */ (
      h("button", {
        type: "button",
        class: `sc-control${control.variant ? ` sc-control--${control.variant}` : ""}`,
        "data-action": control.action,
      })
    );
    button.addEventListener("click", () => context && click(control, context), { signal });
    bar.append(button);
    return { control, button, drawn: "" };
  });

  const closePanel = () => {
    if (panelLife) panelLife.abort();
    panelLife = null;
    open = "";
    panel.hidden = true;
    panel.replaceChildren();
    for (const { control, button } of buttons) if (control.panel) button.setAttribute("aria-expanded", "false");
  };

  /** @param {CallControl} control @param {ControlContext} ctx */
  function click(control, ctx) {
    if (control.panel) {
      const wasOpen = open === control.action;
      closePanel();
      if (wasOpen) return;
      open = control.action;
      panelLife = new AbortController();
      panel.dataset.panel = control.action;
      panel.replaceChildren(control.panel(ctx, closePanel, panelLife.signal));
      panel.hidden = false;
      buttons.find((b) => b.control === control)?.button.setAttribute("aria-expanded", "true");
    } else if (control.run) {
      control.run(ctx);
    } else if (control.request) {
      ctx.request(control.request);
    }
  }

  signal.addEventListener("abort", closePanel, { once: true });
  return {
    bar,
    panel,
    update(ctx) {
      context = ctx;
      bar.setAttribute("aria-label", ctx.text("streamcall_controls"));
      for (const entry of buttons) {
        const { control, button } = entry;
        button.hidden = !control.visible(ctx);
        if (button.hidden && open === control.action) closePanel();
        const on = control.pressed ? control.pressed(ctx) : null;
        const name = ctx.text(typeof control.label === "function" ? control.label(ctx) : control.label);
        const state = control.state ? ctx.text(control.state(ctx)) : "";
        button.setAttribute("aria-label", name);
        button.title = state ? `${name}: ${state}` : name;
        if (on === null) button.removeAttribute("aria-pressed");
        else button.setAttribute("aria-pressed", String(on));
        const crossed = Boolean(control.crossWhenOff) && on === false;
        const count = control.badge ? control.badge(ctx) : 0;
        const drawn = `${control.icon}:${crossed}:${count}`;
        if (drawn !== entry.drawn) {
          const badge = count > 0 ? [h("span", { class: "sc-badge", "aria-hidden": "true" }, [String(count)])] : [];
          button.replaceChildren(icon(control.icon, crossed), ...badge);
        }
        if (count > 0) button.setAttribute("aria-label", `${name} (${count})`);
        entry.drawn = drawn;
      }
      bar.hidden = buttons.every(({ button }) => button.hidden);
    },
  };
}
