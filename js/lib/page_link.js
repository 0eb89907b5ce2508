/**
 * The page's end of the WebRTC link with the kernel (docs/widgets.md, "The page link").
 * The page always offers: three sendonly transceivers carry its camera, microphone and
 * screen up (tracks swapped in with `replaceTrack`, no renegotiation), recvonly slots bring
 * the call's tiles down. The kernel says which tile each slot shows (`link_slots`) and asks
 * for more slots when it needs them (`link_grow`). If the link is not connected within
 * `LINK_TIMEOUT_MS` of the kernel's answer (a remote Jupyter with no UDP path and no TURN),
 * or the kernel could not answer, the page gives up and says so (`link_state: failed`):
 * the media then takes the widget channel. The offer itself may wait as long as a running
 * cell keeps the kernel from reading it.
 */
import { onMessage, watch } from "./model.js";

/** How long ICE gets to connect, from the kernel's answer, before the widget channel
 * takes over (ms). */
const LINK_TIMEOUT_MS = 5000;
/** After a failure, the link is tried again this much later (ms): with `media_path` "auto"
 * (the widget channel carries the media meanwhile), and with "webrtc" (nothing does). */
const RETRY_MS = { auto: 30000, webrtc: 3000 };
/** How long the offer waits for candidates before it goes with those it has (ms). */
const GATHER_TIMEOUT_MS = 2000;
/** The slots of each kind offered at first (more on the kernel's request). */
const INITIAL_SLOTS = 4;
/** The uplink roles and their media. */
const UPLINK = [["camera", "video"], ["microphone", "audio"], ["screen", "video"]];

/**
 * Resolve once `pc` has gathered its candidates, or after `GATHER_TIMEOUT_MS`.
 * @param {RTCPeerConnection} pc
 */
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  });
}

/**
 * Open the link unless `media_path` is "pipe"; `onChange()` runs when the path or the
 * slots change. Returns what the views and the capture need.
 * @param {any} model
 * @param {AbortSignal} signal
 * @param {{onChange: () => void}} handlers
 */
export function createPageLink(model, signal, { onChange }) {
  /** @type {RTCPeerConnection | null} */
  let pc = null;
  /** @type {Map<string, RTCRtpTransceiver>} */
  const uplink = new Map();
  /** @type {Map<string, MediaStream>} the stream of each downlink slot, by mid once known */
  const slotStreams = new Map();
  /** @type {Array<{kind: string, transceiver: RTCRtpTransceiver, stream: MediaStream}>} */
  const slots = [];
  /** @type {Record<string, string>} slot mid → tile key */
  let slotKeys = {};
  let connected = false;
  let negotiating = false;
  let again = false;
  let timer = 0;
  let retry = 0;
  /** This peer connection's id: a new one (the page reloaded, a retry) replaces the old. */
  let linkId = "";

  const addSlots = (kind, count) => {
    for (let i = 0; i < count; i++) {
      const transceiver = pc.addTransceiver(kind, { direction: "recvonly" });
      slots.push({ kind, transceiver, stream: new MediaStream([transceiver.receiver.track]) });
    }
  };

  const negotiate = async () => {
    if (!pc || negotiating) {
      again = true;
      return;
    }
    negotiating = true;
    try {
      do {
        again = false;
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        if (!pc) return;
        const roles = {};
        for (const [role, transceiver] of uplink) roles[transceiver.mid] = role;
        const mids = (kind) => slots.filter((slot) => slot.kind === kind).map((slot) => slot.transceiver.mid);
        model.send({ kind: "link", link: linkId, sdp: pc.localDescription.sdp, uplink: roles, video: mids("video"), audio: mids("audio") });
        await new Promise((resolve) => { answered = resolve; });
      } while (again && pc);
    } catch (error) {
      console.warn("streamcall: page link negotiation failed", error);
      fail();
    } finally {
      negotiating = false;
    }
  };
  /** @type {(value?: unknown) => void} */
  let answered = () => {};

  /** Give up on the link: the widget channel carries the media (unless forced off), and
   * the link is tried again later. */
  const fail = () => {
    clearTimeout(timer);
    timer = 0;
    clearTimeout(retry);
    if (!pc) return;
    pc.close();
    pc = null;
    connected = false;
    uplink.clear();
    slots.length = 0;
    slotStreams.clear();
    answered();
    if (signal.aborted) return;
    model.send({ kind: "link_state", state: "failed" });
    const mode = model.get("media_path");
    if (mode in RETRY_MS) retry = setTimeout(start, RETRY_MS[mode]);
    onChange();
  };

  const start = () => {
    clearTimeout(retry);
    if (pc || model.get("media_path") === "pipe" || typeof RTCPeerConnection === "undefined") return;
    linkId = Math.random().toString(36).slice(2);
    pc = new RTCPeerConnection({ iceServers: model.get("_ice_servers") || [] });
    for (const [role, kind] of UPLINK) uplink.set(role, pc.addTransceiver(kind, { direction: "sendonly" }));
    addSlots("video", INITIAL_SLOTS);
    addSlots("audio", INITIAL_SLOTS);
    const current = pc;
    pc.addEventListener("connectionstatechange", () => {
      if (current !== pc) return;
      const state = current.connectionState;
      if (state === "connected") {
        clearTimeout(timer);
        timer = 0;
        connected = true;
        onChange();
      } else if (state === "failed" || state === "closed") {
        fail();
      }
    });
    negotiate();
  };

  onMessage(model, "link", async (content) => {
    if (!pc || content.link !== linkId) return; // an answer to a link given up since
    if (content.error) {
      console.warn("streamcall: the kernel could not answer the link's offer", content.error);
      fail();
      return;
    }
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: content.sdp });
    } catch (error) {
      console.warn("streamcall: the kernel's answer was refused", error);
      fail();
      return;
    }
    if (!connected && !timer && model.get("media_path") === "auto") {
      timer = setTimeout(() => connected || fail(), LINK_TIMEOUT_MS);
    }
    for (const slot of slots) if (slot.transceiver.mid) slotStreams.set(slot.transceiver.mid, slot.stream);
    answered();
    onChange();
  }, signal);
  onMessage(model, "link_slots", (content) => {
    slotKeys = content.slots || {};
    onChange();
  }, signal);
  onMessage(model, "link_grow", (content) => {
    if (!pc) return;
    addSlots(content.media === "audio" ? "audio" : "video", Math.min(16, Number(content.count) || 1));
    negotiate();
  }, signal);
  watch(model, ["media_path"], () => {
    if (model.get("media_path") === "pipe") fail();
    else start();
    onChange(); // the captures may take or leave the widget channel
  }, signal);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    clearTimeout(retry);
    if (pc) pc.close();
    pc = null;
  }, { once: true });
  start();

  /** The stream of the slot showing `key` and `kind`, if the link carries it. */
  const streamOf = (key, kind) => {
    if (!connected) return null;
    for (const slot of slots) {
      const mid = slot.transceiver.mid;
      if (slot.kind === kind && mid && slotKeys[mid] === key) return slotStreams.get(mid) || null;
    }
    return null;
  };
  return {
    /** Whether media flows over the link. */
    connected: () => connected,
    /** Whether the widget channel may carry media when the link does not. */
    mayUsePipe: () => model.get("media_path") !== "webrtc",
    /** The video stream of tile `key`, or null (then the tile draws JPEG frames). */
    videoOf: (key) => streamOf(key, "video"),
    /** Every audio slot's stream with the tile it plays. @returns {Array<[string, MediaStream]>} */
    audio: () => (connected ? slots.filter((s) => s.kind === "audio" && s.transceiver.mid && slotKeys[s.transceiver.mid])
      .map((s) => [slotKeys[s.transceiver.mid], s.stream]) : []),
    /**
     * Send `track` (null: nothing) as `role` over the link; false when the link is down.
     * @param {string} role
     * @param {MediaStreamTrack | null} track
     */
    send(role, track) {
      const transceiver = uplink.get(role);
      if (!connected || !transceiver) return false;
      transceiver.sender.replaceTrack(track).catch((error) => console.warn("streamcall: replaceTrack", error));
      return true;
    },
  };
}
