/**
 * The colour space of a video track as the page sees it, for the kernel to convert the
 * track's frames to its canonical space (streamcall_widget/engine/colour.py,
 * `page_source_space`). Chromium encodes RGB frames (a canvas, a screen: matrix "rgb")
 * as BT.709 full range and YUV frames (a camera) as they are, so the kernel needs this
 * to know which.
 */

/**
 * @typedef {object} ColourSpaceDescription
 * @property {string | null} matrix  WebCodecs matrix: "rgb", "bt709", "smpte170m", "bt470bg", ...
 * @property {boolean | null} full_range
 * @property {string | null} primaries
 * @property {string | null} transfer
 */

/**
 * The colour space of `track`'s first frame (`VideoFrame.colorSpace`), or null where the
 * browser has no `MediaStreamTrackProcessor` (WebCodecs on tracks) or the track ends first.
 * Reads from a clone, stopped afterwards: the track itself is never locked or consumed, so
 * it can still go to an RTCPeerConnection.
 * @param {MediaStreamTrack} track  a video track
 * @returns {Promise<ColourSpaceDescription | null>}
 */
export async function describeColourSpace(track) {
  const Processor = /** @type {any} */ (globalThis).MediaStreamTrackProcessor;
  if (typeof Processor !== "function" || track.kind !== "video") return null;
  const clone = track.clone();
  /** @type {ReadableStreamDefaultReader<VideoFrame> | null} */
  let reader = null;
  try {
    reader = new Processor({ track: clone }).readable.getReader();
    const { value: frame, done } = await reader.read();
    if (done || !frame) return null;
    try {
      const space = frame.colorSpace;
      return {
        matrix: space.matrix ?? null,
        full_range: space.fullRange ?? null,
        primaries: space.primaries ?? null,
        transfer: space.transfer ?? null,
      };
    } finally {
      frame.close();
    }
  } catch {
    return null;
  } finally {
    if (reader) {
      reader.cancel().catch(() => {});
      reader.releaseLock();
    }
    clone.stop();
  }
}
