/**
 * The page as a device of the kernel (docs/widgets.md, "The page as a device"): it reports
 * its cameras, microphones and speakers (again on every `devicechange`), captures what the
 * kernel asks for (`getUserMedia`, `getDisplayMedia`) and answers each request with
 * `capture_state` (ok, or the browser's error name and message). A capture the browser
 * ends itself (its "Stop sharing" bar, a camera unplugged) is reported as `capture_ended`.
 * What is captured goes up through `onTrack`; the link or the widget channel carries it.
 */
import { describeColourSpace } from "./colour.js";
import { onMessage } from "./model.js";

/** The device kinds the kernel lists (enumerateDevices' names). */
const DEVICE_KINDS = ["videoinput", "audioinput", "audiooutput"];

/** What a camera is asked for: the size and rate of a call. */
const CAMERA_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };

/** A microphone for talking: the browser's echo cancellation, noise suppression and gain. */
const MICROPHONE_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * The constraints of `role` on device `deviceId` ("" or "default": the browser's choice).
 * @param {string} role
 * @param {string} deviceId
 * @returns {MediaStreamConstraints}
 */
function constraintsFor(role, deviceId) {
  const device = deviceId && deviceId !== "default" ? { deviceId: { exact: deviceId } } : {};
  return role === "camera"
    ? { video: { ...CAMERA_CONSTRAINTS, ...device }, audio: false }
    : { audio: { ...MICROPHONE_CONSTRAINTS, ...device }, video: false };
}

/**
 * Capture for `role`: the track, or the browser's error.
 * @param {string} role
 * @param {string} deviceId
 * @returns {Promise<MediaStreamTrack>}
 */
async function open(role, deviceId) {
  const devices = navigator.mediaDevices;
  if (!devices || !window.isSecureContext) {
    throw new DOMException("this page is not a secure context (https or localhost)", "InsecureContext");
  }
  if (role === "screen") {
    if (!devices.getDisplayMedia) throw new DOMException("no getDisplayMedia", "NotSupportedError");
    const stream = await devices.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: false });
    return stream.getVideoTracks()[0];
  }
  const stream = await devices.getUserMedia(constraintsFor(role, deviceId));
  return role === "camera" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
}

/**
 * Report the page's devices and capture for the kernel until `signal` aborts.
 * @param {any} model
 * @param {AbortSignal} signal
 * @param {{onTrack: (role: string, track: MediaStreamTrack) => void, onEnded: (role: string) => void, onSink: (deviceId: string) => void}} handlers
 * @returns {{tracks: Map<string, MediaStreamTrack>}}
 */
export function createPageCapture(model, signal, { onTrack, onEnded, onSink }) {
  /** @type {Map<string, MediaStreamTrack>} */
  const tracks = new Map();
  /** Requests in flight, by role: a newer request for a role wins. */
  const pending = new Map();

  let fresh = true; // the first report tells the kernel this page (re)started
  const report = async () => {
    const devices = navigator.mediaDevices;
    const found = devices && devices.enumerateDevices ? await devices.enumerateDevices() : [];
    if (signal.aborted) return;
    model.send({
      kind: "page_devices",
      devices: found
        .filter((device) => DEVICE_KINDS.includes(device.kind))
        .map((device) => ({ kind: device.kind, device_id: device.deviceId, label: device.label })),
      secure: window.isSecureContext && Boolean(devices),
      sink: "setSinkId" in HTMLMediaElement.prototype,
      display: Boolean(devices && devices.getDisplayMedia),
      fresh,
    });
    fresh = false;
  };

  /** Stop capturing for `role` (the kernel asked, or a newer capture replaces it). */
  const stop = (role) => {
    const track = tracks.get(role);
    if (!track) return;
    tracks.delete(role);
    track.stop();
    onEnded(role);
  };

  const capture = async ({ role, device_id: deviceId }) => {
    const request = {};
    pending.set(role, request);
    let track;
    try {
      track = await open(role, String(deviceId || ""));
    } catch (error) {
      if (pending.get(role) === request && !signal.aborted) {
        const name = (error && error.name) || "Error";
        model.send({ kind: "capture_state", role, ok: false, error: { name, message: String((error && error.message) || error) } });
      }
      return;
    }
    if (pending.get(role) !== request || signal.aborted) {
      track.stop();
      return;
    }
    pending.delete(role);
    stop(role);
    tracks.set(role, track);
    track.addEventListener("ended", () => {
      if (tracks.get(role) !== track) return;
      tracks.delete(role);
      onEnded(role);
      model.send({ kind: "capture_ended", role });
    }, { signal });
    const colour = track.kind === "video" ? await describeColourSpace(track).catch(() => null) : null;
    const settings = track.getSettings();
    model.send({ kind: "capture_state", role, ok: true, device_id: settings.deviceId || "", label: track.label, colour });
    onTrack(role, track);
    report(); // labels and ids are only listed once a capture was allowed
  };

  onMessage(model, "capture", (content) => { capture(content); }, signal);
  onMessage(model, "release", (content) => {
    pending.delete(content.role);
    stop(content.role);
  }, signal);
  onMessage(model, "sink", (content) => onSink(String(content.device_id || "")), signal);
  if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", report, { signal });
  signal.addEventListener("abort", () => {
    for (const track of tracks.values()) track.stop();
    tracks.clear();
  }, { once: true });
  report();
  return { tracks };
}
