/**
 * The frame receiver of a CallView model: decodes the JPEG tiles of each "frames"
 * message, keeps only the newest picture of each tile (latest wins), paints it into every
 * canvas showing that tile on the next animation frame, and acknowledges messages once
 * each of their tiles was painted or replaced by a newer one (docs/widgets.md, Media).
 * One receiver serves all the views of a model, so a frame is decoded and acked once.
 *
 * Acks are coalesced: at most one per animation frame, naming the highest `seq` up to
 * which every message received is settled (the kernel reads an ack as covering all
 * earlier messages). Each page message costs the kernel a busy and an idle status message
 * on top of the ack itself, so one ack per painted frame instead of one per message.
 */
import { onMessage } from "./model.js";

/**
 * Paint `bitmap` into `canvas`, scaled to fit and letterboxed, at device-pixel resolution.
 * @param {HTMLCanvasElement} canvas
 * @param {ImageBitmap} bitmap
 * @returns {boolean} false when the canvas is not laid out (nothing to paint into)
 */
function paintBitmap(canvas, bitmap) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio);
  const height = Math.round(canvas.clientHeight * ratio);
  if (!width || !height) return false;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const scale = Math.min(width / bitmap.width, height / bitmap.height);
  const drawWidth = bitmap.width * scale;
  const drawHeight = bitmap.height * scale;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  context.drawImage(bitmap, (width - drawWidth) / 2, (height - drawHeight) / 2, drawWidth, drawHeight);
  return true;
}

/**
 * Tell the benchmark hook (if the page defines one) that a tile was painted.
 * @param {string} key
 * @param {number} ts when the kernel got the frame (ms since the epoch)
 * @param {HTMLCanvasElement} canvas
 */
function reportDraw(key, ts, canvas) {
  const hook = window.__streamcall_on_draw;
  if (typeof hook === "function") {
    hook({ key, ts, canvas, drawnAt: performance.timeOrigin + performance.now() });
  }
}

/**
 * @typedef {{canvas: HTMLCanvasElement, onDrawn: () => void, stale: boolean}} FrameTarget
 * @typedef {{bitmap: ImageBitmap, ts: number, seq: number, fresh: boolean}} TileFrame
 */

/**
 * Receive, decode, paint and acknowledge the frames of `model` until `signal` aborts.
 * @param {any} model
 * @param {AbortSignal} signal
 * @returns {{attach: (key: string, canvas: HTMLCanvasElement, onDrawn: () => void) => () => void, redraw: () => void}}
 */
export function createFrameReceiver(model, signal) {
  /** @type {Map<string, TileFrame>} */
  const latest = new Map();
  /** @type {Map<string, Set<FrameTarget>>} */
  const targets = new Map();
  /** Tiles of each message not yet painted or replaced. */
  const unsettled = new Map();
  /** The highest seq received, and the highest acked. */
  let received = 0;
  let acked = 0;
  let raf = 0;

  const schedule = () => {
    if (!raf && !signal.aborted) raf = requestAnimationFrame(paintAll);
  };

  const settle = (seq) => {
    const left = (unsettled.get(seq) || 1) - 1;
    if (left > 0) {
      unsettled.set(seq, left);
      return;
    }
    unsettled.delete(seq);
    schedule(); // the ack leaves with the next animation frame
  };

  /** Ack everything settled below the oldest unsettled message (or all received). */
  const flushAck = () => {
    let upTo = received;
    for (const seq of unsettled.keys()) upTo = Math.min(upTo, seq - 1);
    if (upTo > acked && !signal.aborted) {
      acked = upTo;
      model.send({ kind: "ack", seq: upTo });
    }
  };

  /** Paint fresh frames everywhere, and current frames into canvases that lost theirs. */
  function paintAll() {
    raf = 0;
    paintFresh();
    flushAck();
  }

  function paintFresh() {
    for (const [key, frame] of latest) {
      for (const target of targets.get(key) || []) {
        if (!frame.fresh && !target.stale) continue;
        target.stale = false;
        if (!paintBitmap(target.canvas, frame.bitmap)) continue;
        if (frame.fresh) target.onDrawn();
        reportDraw(key, frame.ts, target.canvas);
      }
      if (frame.fresh) {
        frame.fresh = false;
        settle(frame.seq);
      }
    }
  }

  const store = (tile, seq, bitmap) => {
    const current = latest.get(tile.key);
    if (signal.aborted || (current && current.seq > seq)) {
      bitmap.close();
      settle(seq);
      return;
    }
    if (current) {
      current.bitmap.close();
      if (current.fresh) settle(current.seq);
    }
    latest.set(tile.key, { bitmap, ts: tile.ts, seq, fresh: true });
    schedule();
  };

  const receive = (content, buffers) => {
    const tiles = content.tiles || [];
    received = content.seq;
    if (!tiles.length) {
      schedule();
      return;
    }
    unsettled.set(content.seq, tiles.length);
    tiles.forEach((tile, index) => {
      const blob = new Blob([buffers[index]], { type: tile.mime || "image/jpeg" });
      createImageBitmap(blob).then(
        (bitmap) => store(tile, content.seq, bitmap),
        () => settle(content.seq),
      );
    });
  };

  onMessage(model, "frames", receive, signal);
  signal.addEventListener(
    "abort",
    () => {
      cancelAnimationFrame(raf);
      for (const frame of latest.values()) frame.bitmap.close();
      latest.clear();
      targets.clear();
    },
    { once: true },
  );

  return {
    /** Show tile `key` in `canvas`; `onDrawn` runs for each new frame painted there. */
    attach(key, canvas, onDrawn) {
      const target = { canvas, onDrawn, stale: true };
      if (!targets.has(key)) targets.set(key, new Set());
      targets.get(key).add(target);
      schedule();
      return () => targets.get(key)?.delete(target);
    },
    /** Repaint every canvas (after a resize, which clears a canvas). */
    redraw() {
      for (const set of targets.values()) for (const target of set) target.stale = true;
      schedule();
    },
  };
}
