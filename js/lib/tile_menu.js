/**
 * The menu of a remote participant's tile: a small button on the tile opening "Pin for
 * me", "Pin for everyone" (with the `pin-for-everyone` capability), "Unpin" (when pinned)
 * and a volume slider. Every choice is a request to the kernel (`pin`, `unpin`, `volume`):
 * the page changes nothing itself, the `pins` and `volumes` traits come back changed.
 */
import { h, listen } from "./dom.js";

/**
 * What the menus need from the view: the pinned keys, the volumes, the right to pin for
 * everyone, the words and the requester.
 * @typedef {{pins: string[], volumes: Record<string, number>, canPinForEveryone: boolean,
 *   text: (key: string, ...args: string[]) => string,
 *   request: (kind: string, fields?: Record<string, unknown>) => Promise<any>}} TileMenuContext
 */

/**
 * The menu of tile `key` (a remote participant's session id), its listeners bound to
 * `signal` (the tile's lifetime).
 * @param {string} key
 * @param {AbortSignal} signal
 * @returns {{el: HTMLElement, update: (ctx: TileMenuContext) => void}}
 */
export function createTileMenu(key, signal) {
  /** @type {TileMenuContext | null} */
  let current = null;
  const item = (choice) => h("button", { type: "button", class: "sc-tile-menu-item", role: "menuitem", "data-choice": choice });
  const pinMine = item("pin");
  const pinAll = item("pin_everyone");
  const unpin = item("unpin");
  const slider = /** @type {HTMLInputElement} */ (
    h("input", { type: "range", class: "sc-volume", min: "0", max: "1", step: "0.05", "data-choice": "volume" })
  );
  const volumeLabel = h("label", { class: "sc-volume-label" }, [h("span"), slider]);
  const list = h("div", { class: "sc-tile-menu-list", role: "menu", hidden: true }, [pinMine, pinAll, unpin, volumeLabel]);
  const toggle = h("button", { type: "button", class: "sc-tile-menu-button", "aria-haspopup": "menu", "aria-expanded": "false", text: "⋮" });
  const el = h("div", { class: "sc-tile-menu" }, [toggle, list]);
  const open = (wanted) => {
    list.hidden = !wanted;
    toggle.setAttribute("aria-expanded", String(wanted));
  };
  listen(toggle, "click", () => open(list.hidden), signal);
  const choose = (kind, fields) => {
    open(false);
    current?.request(kind, { session_id: key, ...fields });
  };
  listen(pinMine, "click", () => choose("pin", { for_everyone: false }), signal);
  listen(pinAll, "click", () => choose("pin", { for_everyone: true }), signal);
  listen(unpin, "click", () => choose("unpin"), signal);
  listen(slider, "change", () => current?.request("volume", { session_id: key, volume: Number(slider.value) }), signal);
  listen(el, "keydown", (event) => event.key === "Escape" && open(false), signal);
  return {
    el,
    update(ctx) {
      current = ctx;
      const pinned = ctx.pins.includes(key);
      toggle.setAttribute("aria-label", ctx.text("streamcall_tile_menu"));
      pinMine.textContent = ctx.text("streamcall_pin_for_me");
      pinAll.textContent = ctx.text("streamcall_pin_for_everyone");
      unpin.textContent = ctx.text("streamcall_unpin");
      volumeLabel.firstChild.textContent = ctx.text("streamcall_volume");
      pinAll.hidden = !ctx.canPinForEveryone;
      unpin.hidden = !pinned;
      const volume = key in ctx.volumes ? Number(ctx.volumes[key]) : 1;
      if (document.activeElement !== slider) slider.value = String(volume);
    },
  };
}
