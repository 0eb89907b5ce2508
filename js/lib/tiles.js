/**
 * The participant tiles of a call view: one element per tile key (kept across updates, so
 * its canvas stays attached to the frame receiver), showing live video in a native <video>
 * when the page link carries the tile, else in a <canvas> drawn from JPEG frames, or the
 * avatar when the video is off, the name, a muted microphone, the speaking highlight and
 * the connection-quality bars, a pin mark and a remote tile's menu (./tile_menu.js). Also
 * where each layout puts the tiles: pinned tiles first, in pin order.
 */
import { avatar, h } from "./dom.js";
import { createTileMenu } from "./tile_menu.js";

/** Bars shown for each connection quality. */
const QUALITY_BARS = { excellent: 3, good: 2, poor: 1, unspecified: 0 };

/** A crossed-out microphone (static markup, no user data). */
const MIC_OFF_SVG =
  '<svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11z"/>' +
  '<path stroke="currentColor" stroke-width="2" d="M4 4l16 16"/></svg>';

/**
 * Which tile is big and which is a picture-in-picture for `layout`: spotlight shows the
 * first pinned tile big (`pins`: the `pins` trait, first shown first); else a shared
 * screen (a remote one first) is big in spotlight and dynamic; otherwise spotlight makes
 * the dominant (else first) remote big, and dynamic with one remote shows it full with the
 * local tile inset; grid and fullscreen give every tile the same room.
 * @param {string} layout
 * @param {Array<any>} participants
 * @param {string[]} [pins]
 * @returns {{main: string | null, pip: string | null}}
 */
export function arrangeTiles(layout, participants, pins = []) {
  const pinned = pins.find((key) => participants.some((p) => p.key === key));
  if (layout === "spotlight" && pinned) return { main: pinned, pip: null };
  const screens = participants.filter((p) => p.screen);
  const remotes = participants.filter((p) => !p.is_local && !p.screen);
  const local = participants.find((p) => p.is_local && !p.screen);
  const screen = screens.find((p) => !p.is_local) || screens[0];
  if (screen && (layout === "spotlight" || layout === "dynamic")) {
    return { main: screen.key, pip: null };
  }
  if (layout === "spotlight") {
    const main = remotes.find((p) => p.dominant) || remotes[0] || participants[0];
    return { main: main ? main.key : null, pip: null };
  }
  if (layout === "dynamic" && remotes.length === 1) {
    return { main: remotes[0].key, pip: local ? local.key : null };
  }
  return { main: null, pip: null };
}

/**
 * Count the frames `video` presents, calling `onDrawn()` for each (and the benchmark hook,
 * as the canvas path does), until `signal` aborts.
 * @param {string} key
 * @param {HTMLVideoElement} video
 * @param {() => void} onDrawn
 * @param {AbortSignal} signal
 */
function countPresentedFrames(key, video, onDrawn, signal) {
  if (!("requestVideoFrameCallback" in video)) return;
  let handle = 0;
  const presented = (_now, metadata) => {
    onDrawn();
    const hook = window.__streamcall_on_draw;
    if (typeof hook === "function") {
      hook({ key, ts: 0, video, native: true, drawnAt: performance.timeOrigin + metadata.expectedDisplayTime });
    }
    if (!signal.aborted) handle = video.requestVideoFrameCallback(presented);
  };
  handle = video.requestVideoFrameCallback(presented);
  signal.addEventListener("abort", () => video.cancelVideoFrameCallback(handle), { once: true });
}

/**
 * Build the element of one tile.
 * @param {string} key
 * @param {AbortSignal} signal the tile's lifetime
 * @param {boolean} withMenu a remote participant's tile has the pin and volume menu
 * @returns {{el: HTMLElement, canvas: HTMLCanvasElement, video: HTMLVideoElement, face: HTMLElement, name: HTMLElement, muted: HTMLElement, quality: HTMLElement, pin: HTMLElement, menu: ReturnType<typeof createTileMenu> | null, faceOf: string}}
 */
function buildTile(key, signal, withMenu) {
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "sc-video" }));
  const video = /** @type {HTMLVideoElement} */ (h("video", { class: "sc-video sc-native-video" }));
  video.muted = true; // the call's audio plays from the link's audio slots
  video.autoplay = true;
  video.playsInline = true;
  const face = h("div", { class: "sc-face" });
  const muted = h("span", { class: "sc-muted", role: "img" });
  muted.innerHTML = MIC_OFF_SVG;
  const name = h("span", { class: "sc-name" });
  const quality = h("span", { class: "sc-quality", role: "img" }, [1, 2, 3].map(() => h("i")));
  const pin = h("span", { class: "sc-pin-mark", role: "img", text: "📌", hidden: true });
  const menu = withMenu ? createTileMenu(key, signal) : null;
  const el = h("div", { class: "sc-tile", "data-key": key }, [
    canvas,
    video,
    face,
    menu && menu.el,
    h("div", { class: "sc-tile-bar" }, [pin, muted, name, quality]),
  ]);
  return { el, canvas, video, face, name, muted, quality, pin, menu, faceOf: "" };
}

/**
 * Show participant `p` in `tile`.
 * @param {ReturnType<typeof buildTile>} tile
 * @param {any} p
 * @param {{main: string | null, pip: string | null}} arrangement
 * @param {(key: string, ...args: string[]) => string} text
 * @param {MediaStream | null} stream the tile's video over the page link, if it has one
 * @param {import("./tile_menu.js").TileMenuContext} menu
 */
function updateTile(tile, p, arrangement, text, stream, menu) {
  if (tile.video.srcObject !== stream) {
    tile.video.srcObject = stream;
    if (stream) tile.video.play().catch(() => {});
  }
  tile.el.classList.toggle("sc-native", Boolean(stream));
  tile.el.classList.toggle("sc-mirror", Boolean(stream) && Boolean(p.page_preview)); // as in a mirror
  const name = p.name || p.user_id || p.key;
  const label = !p.screen ? name : p.is_local ? text("streamcall_presenting") : text("streamcall_screen_of", name);
  const faceOf = `${label}\n${p.image || ""}`;
  if (tile.faceOf !== faceOf) {
    tile.face.replaceChildren(avatar({ name: label, image: p.image }, "sc-avatar--large"));
    tile.faceOf = faceOf;
  }
  const classes = tile.el.classList;
  classes.toggle("sc-video-off", !p.video);
  classes.toggle("sc-speaking", Boolean(p.speaking));
  classes.toggle("sc-dominant", Boolean(p.dominant));
  classes.toggle("sc-local", Boolean(p.is_local));
  classes.toggle("sc-screen-tile", Boolean(p.screen));
  classes.toggle("sc-main", arrangement.main === p.key);
  classes.toggle("sc-pip", arrangement.pip === p.key);
  classes.toggle("sc-held", Boolean(p.on_hold));
  tile.canvas.setAttribute("aria-label", label);
  tile.name.textContent = p.on_hold && !p.screen ? `${label} · ${text("streamcall_on_hold")}` : label;
  tile.muted.hidden = p.audio !== false || Boolean(p.screen); // a silent screen is not "muted"
  tile.muted.setAttribute("aria-label", text("streamcall_muted"));
  const quality = p.quality in QUALITY_BARS ? p.quality : "unspecified";
  tile.quality.dataset.bars = String(QUALITY_BARS[quality]);
  tile.quality.setAttribute("aria-label", quality);
  const pinned = menu.pins.includes(p.key);
  classes.toggle("sc-pinned", pinned);
  tile.pin.hidden = !pinned;
  tile.pin.setAttribute("aria-label", text("streamcall_pinned"));
  tile.menu?.update(menu);
}

/**
 * The tiles in the order shown: the big one, then the pinned ones in pin order, then the
 * others as given.
 * @param {Array<any>} participants
 * @param {{main: string | null}} arrangement
 * @param {string[]} pins
 * @returns {Array<any>}
 */
function orderTiles(participants, arrangement, pins) {
  const rank = (p) => (p.key === arrangement.main ? -1 : pins.includes(p.key) ? pins.indexOf(p.key) : pins.length);
  return participants.map((p, index) => ({ p, index })).sort((a, b) => rank(a.p) - rank(b.p) || a.index - b.index).map(({ p }) => p);
}

/**
 * The tiles of one view, inside `stage`. `update` adds, updates, reorders (the big tile
 * first, then the pinned ones) and removes tiles; a new tile's canvas is attached to `frames` and its size
 * observed by `sizes`, both undone when the tile goes.
 * @param {HTMLElement} stage
 * @param {{attach: (key: string, canvas: HTMLCanvasElement, onDrawn: () => void) => () => void}} frames
 * @param {{observe: (key: string, el: Element) => void, unobserve: (key: string) => void}} sizes
 * @param {() => void} onDrawn
 * @param {(participant: any) => MediaStream | null} videoOf the native stream of a tile: the
 *   page link's, or the page's own camera for a self-view the page captures itself
 */
export function createTileSet(stage, frames, sizes, onDrawn, videoOf) {
  const tiles = new Map();
  const remove = (key) => {
    const tile = tiles.get(key);
    tile.detach();
    tile.alive.abort();
    tile.video.srcObject = null;
    sizes.unobserve(key);
    tile.el.remove();
    tiles.delete(key);
  };
  return {
    /**
     * @param {Array<any>} participants
     * @param {{main: string | null, pip: string | null}} arrangement
     * @param {(key: string, ...args: string[]) => string} text
     * @param {import("./tile_menu.js").TileMenuContext} menu the pins, volumes and requester
     */
    update(participants, arrangement, text, menu) {
      const keys = new Set(participants.map((p) => p.key));
      for (const key of [...tiles.keys()]) if (!keys.has(key)) remove(key);
      orderTiles(participants, arrangement, menu.pins).forEach((p, index) => {
        let tile = tiles.get(p.key);
        if (!tile) {
          const alive = new AbortController();
          tile = buildTile(p.key, alive.signal, !p.is_local && !p.screen);
          tile.alive = alive;
          tile.detach = frames.attach(p.key, tile.canvas, onDrawn);
          countPresentedFrames(p.key, tile.video, onDrawn, alive.signal);
          sizes.observe(p.key, tile.el); // the tile, whichever of canvas or video shows
          tiles.set(p.key, tile);
        }
        updateTile(tile, p, arrangement, text, p.video ? videoOf(p) : null, menu);
        if (stage.children[index] !== tile.el) stage.insertBefore(tile.el, stage.children[index] || null);
      });
      stage.classList.toggle("sc-has-main", Boolean(arrangement.main));
    },
    /** Detach every tile (view cleanup). */
    clear() {
      for (const key of [...tiles.keys()]) remove(key);
    },
  };
}
