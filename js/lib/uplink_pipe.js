/**
 * The comm-pipe uplink: the page's camera, screen and microphone up to the kernel over the
 * widget's custom messages, for when WebRTC between page and kernel cannot connect
 * (docs/widgets.md, "Uplink over the widget channel"; the kernel end is
 * streamcall_widget/render/uplink.py).
 *
 * Video: frames are read from the track (MediaStreamTrackProcessor, else a hidden <video>
 * drawn on requestVideoFrameCallback), encoded as VP8 with WebCodecs (else as JPEG) and
 * sent as `up_video`, at most UPLINK_VIDEO_WINDOW unacknowledged per role. A frame that
 * finds the window full waits, replaced by any newer one (latest wins); frames are dropped
 * before the encoder, never after, so no VP8 delta ever refers to a frame the kernel lacks.
 * Audio: an AudioWorklet cuts the track into 100 ms chunks of s16 PCM, sent as `up_audio`.
 *
 * Self-contained (no imports), so it runs composed into a widget or alone from a Blob URL.
 */

/** Unacknowledged video messages per role at most. */
const UPLINK_VIDEO_WINDOW = 2;
/** A message unacknowledged this long counts as lost (ms), so a lost ack cannot stall. */
const UPLINK_STALL_MS = 2000;
/** A VP8 key frame at least this often (ms), so a kernel that lost one recovers soon. */
const UPLINK_KEYFRAME_MS = 2000;
/** Largest width or height sent (the kernel's limit); larger frames are scaled down. */
const UPLINK_MAX_SIDE = 4096;
const UPLINK_JPEG_QUALITY = 0.8;
const UPLINK_VP8_BITRATE = 1_500_000;
/** Audio chunk length (ms): 100 ms, as the downlink's chunks, so the microphone costs the
 * widget channel 10 messages a second (each also wakes the kernel's status messages), not
 * 50; an audio chunk older than UPLINK_AUDIO_MAX_AGE_MS is dropped. */
const UPLINK_AUDIO_CHUNK_MS = 100;
const UPLINK_AUDIO_MAX_AGE_MS = 300;
const UPLINK_AUDIO_RATES = [8000, 16000, 24000, 32000, 44100, 48000];

/**
 * The capture worklet: downmixes nothing (the node's channelCount does), collects
 * `chunkFrames` frames, converts them to interleaved s16 and posts each chunk with the
 * AudioContext time of its first sample.
 */
const UPLINK_CAPTURE_WORKLET = `
class StreamcallCapture extends AudioWorkletProcessor {
  constructor({ processorOptions }) {
    super();
    // channels, chunkFrames: the chunk's shape; filled: frames in it; startFrame: its first.
    Object.assign(this, processorOptions, { filled: 0, startFrame: 0, stopped: false });
    this.chunk = new Int16Array(this.chunkFrames * this.channels);
    this.port.onmessage = () => (this.stopped = true);
  }
  process(inputs) {
    const input = inputs[0];
    if (this.stopped) return false;
    if (!input || !input.length) return true;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      if (this.filled === 0) this.startFrame = currentFrame + i;
      for (let c = 0; c < this.channels; c++) {
        const sample = input[Math.min(c, input.length - 1)][i];
        const clamped = Math.max(-1, Math.min(1, sample));
        this.chunk[this.filled * this.channels + c] = clamped < 0 ? clamped * 32768 : clamped * 32767;
      }
      if (++this.filled === this.chunkFrames) {
        const buffer = this.chunk.buffer;
        this.port.postMessage({ time: this.startFrame / sampleRate, buffer }, [buffer]);
        this.chunk = new Int16Array(this.chunkFrames * this.channels);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("streamcall-capture", StreamcallCapture);
`;

/** Wall-clock milliseconds since the epoch, with sub-millisecond precision. */
function uplinkNow() {
  return performance.timeOrigin + performance.now();
}

/**
 * @typedef {{codec: string, sent: number, bytes: number, dropped: number, keyframes: number,
 *   errors: number, inFlight: number}} UplinkRoleStats
 * @typedef {{acked: (seq: number) => void, keyframe: () => void, stats: UplinkRoleStats}} UplinkSender
 * @typedef {{codec?: "vp8" | "jpeg", reader?: "processor" | "video"}} UplinkOptions
 */

/**
 * Send the page's tracks to the kernel through `model` until `stop(role)` or `signal` aborts.
 * `options.codec` forces the video codec ("jpeg" skips WebCodecs); by default VP8 where
 * the browser can encode it. `options.reader: "video"` reads frames through a <video>
 * element even where MediaStreamTrackProcessor exists (the other browsers' path, tested).
 * @param {any} model an anywidget model
 * @param {AbortSignal} signal
 * @param {UplinkOptions} [options]
 * @returns {{start: (role: "camera" | "microphone" | "screen", track: MediaStreamTrack) => void,
 *   stop: (role: string) => void, stats: () => Record<string, UplinkRoleStats>}}
 */
export function createPipeUplink(model, signal, options = {}) {
  /** @type {Map<string, {sender: UplinkSender, controller: AbortController}>} */
  const senders = new Map();
  const listener = (content) => {
    const entry = content && senders.get(content.role);
    if (!entry) return;
    if (content.kind === "up_ack" && Number.isInteger(content.seq)) entry.sender.acked(content.seq);
    if (content.kind === "up_keyframe") entry.sender.keyframe();
  };
  model.on("msg:custom", listener);

  const stop = (role) => {
    const entry = senders.get(role);
    senders.delete(role);
    if (entry) entry.controller.abort();
  };
  signal.addEventListener(
    "abort",
    () => {
      model.off("msg:custom", listener);
      for (const role of [...senders.keys()]) stop(role);
    },
    { once: true },
  );

  return {
    start(role, track) {
      if (!["camera", "microphone", "screen"].includes(role)) throw new Error(`unknown role ${role}`);
      stop(role);
      if (signal.aborted) return;
      const controller = new AbortController();
      const send = (content, buffer) => {
        if (!controller.signal.aborted) model.send({ ...content, role }, undefined, [buffer]);
      };
      const sender =
        track.kind === "audio"
          ? startAudioUplink(track, send, controller.signal)
          : startVideoUplink(track, send, controller.signal, options);
      senders.set(role, { sender, controller });
    },
    stop,
    stats() {
      const out = {};
      for (const [role, { sender }] of senders) out[role] = { ...sender.stats };
      return out;
    },
  };
}

/**
 * Whether WebCodecs can encode VP8 at this size in real time.
 * @param {VideoEncoderConfig} config
 */
async function vp8Supported(config) {
  if (typeof VideoEncoder !== "function") return false;
  try {
    return Boolean((await VideoEncoder.isConfigSupported(config)).supported);
  } catch {
    return false;
  }
}

/**
 * Frames of a video track, each handed to `onFrame` as a VideoFrame the callee closes.
 * MediaStreamTrackProcessor where it exists (unless `reader` is "video"), else a hidden
 * <video> drawn into a canvas on each new frame.
 * @param {MediaStreamTrack} track
 * @param {(frame: VideoFrame) => void} onFrame
 * @param {AbortSignal} signal
 * @param {string} [reader]
 */
function readVideoFrames(track, onFrame, signal, reader) {
  if (typeof MediaStreamTrackProcessor === "function" && reader !== "video") {
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (signal.aborted) {
          value.close();
          return;
        }
        onFrame(value);
      }
    })().catch(() => {});
    return;
  }
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  const canvas = new OffscreenCanvas(2, 2);
  const draw = () => {
    if (signal.aborted) return;
    if (video.videoWidth && video.videoHeight) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      onFrame(new VideoFrame(canvas, { timestamp: Math.round(performance.now() * 1000) }));
    }
    video.requestVideoFrameCallback(draw);
  };
  video.requestVideoFrameCallback(draw);
  video.play().catch(() => {});
  signal.addEventListener(
    "abort",
    () => {
      video.pause();
      video.srcObject = null;
    },
    { once: true },
  );
}

/**
 * The size a `width` x `height` frame is sent at: the same, or scaled to the kernel's limit.
 * @param {number} width
 * @param {number} height
 */
function uplinkSize(width, height) {
  const scale = Math.min(1, UPLINK_MAX_SIDE / width, UPLINK_MAX_SIDE / height);
  return { width: Math.max(2, Math.round(width * scale)), height: Math.max(2, Math.round(height * scale)) };
}

/**
 * One role's video: read, drop while the window is full (latest wins), encode, send.
 * @param {MediaStreamTrack} track
 * @param {(content: object, buffer: ArrayBuffer) => void} send
 * @param {AbortSignal} signal
 * @param {UplinkOptions} options
 * @returns {UplinkSender}
 */
function startVideoUplink(track, send, signal, options) {
  /** @type {UplinkRoleStats} */
  const stats = { codec: "", sent: 0, bytes: 0, dropped: 0, keyframes: 0, errors: 0, inFlight: 0 };
  /** Sent and unacknowledged: seq -> when sent (ms). */
  const unacked = new Map();
  let converting = 0; // frames taken for encoding but not in the VP8 encoder: JPEG, codec choice
  let seq = 0;
  /** @type {VideoFrame | null} */
  let waiting = null;
  /** @type {VideoEncoder | null} */
  let encoder = null;
  let encoderSize = "";
  let wantKey = true;
  let lastKey = 0;
  /** Frames in the VP8 encoder: timestamp -> capture time (ms since the epoch), in order. */
  const captured = new Map();
  let codec = options.codec === "jpeg" ? Promise.resolve("jpeg") : null;
  const canvas = new OffscreenCanvas(2, 2);

  const room = () => {
    const now = performance.now();
    for (const [s, at] of unacked) if (now - at > UPLINK_STALL_MS) unacked.delete(s);
    stats.inFlight = unacked.size + captured.size + converting;
    return stats.inFlight < UPLINK_VIDEO_WINDOW;
  };

  const emit = (content, buffer) => {
    if (signal.aborted) return;
    seq += 1;
    unacked.set(seq, performance.now());
    stats.sent += 1;
    stats.bytes += buffer.byteLength;
    send({ kind: "up_video", seq, ...content }, buffer);
  };

  const onEncoded = (chunk) => {
    const buffer = new ArrayBuffer(chunk.byteLength);
    chunk.copyTo(buffer);
    const ts = captured.get(chunk.timestamp) ?? uplinkNow();
    // Frames before this one that gave no chunk were dropped by the encoder (rate control).
    for (const timestamp of captured.keys()) if (timestamp <= chunk.timestamp) captured.delete(timestamp);
    const [width, height] = encoderSize.split("x").map(Number);
    if (chunk.type === "key") stats.keyframes += 1;
    emit({ ts, width, height, codec: "vp8", key: chunk.type === "key" }, buffer);
  };

  const onEncoderError = () => {
    stats.errors += 1;
    captured.clear();
    encoder = null; // a new one, starting with a key frame, on the next frame
    encoderSize = "";
    wantKey = true;
  };

  /** @param {VideoFrame} frame */
  const encodeVp8 = (frame, ts) => {
    const { width, height } = uplinkSize(frame.displayWidth, frame.displayHeight);
    if (!encoder || encoder.state === "closed" || encoderSize !== `${width}x${height}`) {
      if (encoder && encoder.state !== "closed") encoder.close();
      encoder = new VideoEncoder({ output: onEncoded, error: onEncoderError });
      encoder.configure({
        codec: "vp8",
        width,
        height,
        bitrate: UPLINK_VP8_BITRATE,
        framerate: 30,
        latencyMode: "realtime",
      });
      encoderSize = `${width}x${height}`;
      wantKey = true;
    }
    const keyFrame = wantKey || performance.now() - lastKey >= UPLINK_KEYFRAME_MS;
    if (keyFrame) lastKey = performance.now();
    wantKey = false;
    captured.set(frame.timestamp, ts);
    try {
      encoder.encode(frame, { keyFrame });
    } catch {
      onEncoderError();
    }
  };

  /** @param {VideoFrame} frame */
  const encodeJpeg = (frame, ts) => {
    const { width, height } = uplinkSize(frame.displayWidth, frame.displayHeight);
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(frame, 0, 0, width, height);
    converting += 1;
    canvas
      .convertToBlob({ type: "image/jpeg", quality: UPLINK_JPEG_QUALITY })
      .then((blob) => blob.arrayBuffer())
      .then(
        (buffer) => emit({ ts, width, height, codec: "jpeg", key: true }, buffer),
        () => (stats.errors += 1),
      )
      .finally(() => {
        converting -= 1;
        pump();
      });
  };

  /** Encode the waiting frame if the window has room (the codec chosen by then). */
  function pump() {
    if (!waiting || signal.aborted || !room()) return;
    const frame = waiting;
    waiting = null;
    const ts = uplinkNow();
    if (!codec) {
      const { width, height } = uplinkSize(frame.displayWidth, frame.displayHeight);
      /** @type {VideoEncoderConfig} */
      const config = { codec: "vp8", width, height, bitrate: UPLINK_VP8_BITRATE, latencyMode: "realtime" };
      codec = vp8Supported(config).then((ok) => (ok ? "vp8" : "jpeg"));
    }
    converting += 1; // holds the window's slot until the frame is in an encoder
    codec.then((chosen) => {
      converting -= 1;
      stats.codec = chosen;
      try {
        if (signal.aborted) return;
        if (chosen === "vp8") encodeVp8(frame, ts);
        else encodeJpeg(frame, ts);
      } finally {
        frame.close();
      }
    });
  }

  readVideoFrames(
    track,
    (frame) => {
      if (waiting) {
        waiting.close();
        stats.dropped += 1;
      }
      waiting = frame;
      pump();
    },
    signal,
    options.reader,
  );

  signal.addEventListener(
    "abort",
    () => {
      if (waiting) waiting.close();
      waiting = null;
      if (encoder && encoder.state !== "closed") encoder.close();
      encoder = null;
      captured.clear();
    },
    { once: true },
  );

  return {
    acked(ackSeq) {
      for (const s of unacked.keys()) if (s <= ackSeq) unacked.delete(s);
      pump();
    },
    keyframe() {
      wantKey = true;
    },
    stats,
  };
}

/**
 * An AudioContext capturing `track` through the capture worklet: 48 kHz where the browser
 * connects the track at that rate, else the context's own rate (if the kernel accepts it).
 * The worklet's module comes from a Blob URL, revoked once loaded.
 * @param {MediaStreamTrack} track
 * @param {number} channels
 */
async function buildCaptureGraph(track, channels) {
  let context = new AudioContext({ sampleRate: 48000, latencyHint: "interactive" });
  let source;
  try {
    source = context.createMediaStreamSource(new MediaStream([track]));
  } catch {
    // Older Chromium refuses a track at another rate than the context's: use the default.
    context.close().catch(() => {});
    context = new AudioContext({ latencyHint: "interactive" });
    source = context.createMediaStreamSource(new MediaStream([track]));
  }
  if (!UPLINK_AUDIO_RATES.includes(context.sampleRate)) {
    context.close().catch(() => {});
    throw new Error(`audio rate ${context.sampleRate} is not one the kernel accepts`);
  }
  const url = URL.createObjectURL(new Blob([UPLINK_CAPTURE_WORKLET], { type: "text/javascript" }));
  try {
    await context.audioWorklet.addModule(url);
  } catch (error) {
    context.close().catch(() => {});
    throw error;
  } finally {
    URL.revokeObjectURL(url);
  }
  const node = new AudioWorkletNode(context, "streamcall-capture", {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: channels,
    channelCountMode: "explicit",
    processorOptions: { channels, chunkFrames: (context.sampleRate * UPLINK_AUDIO_CHUNK_MS) / 1000 },
  });
  source.connect(node);
  node.connect(context.destination); // silent output: a node must be pulled to run
  if (context.state === "suspended") context.resume().catch(() => {});
  return { context, source, node };
}

/**
 * One role's audio: 100 ms s16 chunks sent as they come. A chunk that reaches the page's
 * thread more than UPLINK_AUDIO_MAX_AGE_MS after it was captured (the thread was busy and
 * the worklet's messages queued up) is dropped, so a backlog never turns into delay.
 * @param {MediaStreamTrack} track
 * @param {(content: object, buffer: ArrayBuffer) => void} send
 * @param {AbortSignal} signal
 * @returns {UplinkSender}
 */
function startAudioUplink(track, send, signal) {
  /** @type {UplinkRoleStats} */
  const stats = { codec: "pcm", sent: 0, bytes: 0, dropped: 0, keyframes: 0, errors: 0, inFlight: 0 };
  const channels = (track.getSettings().channelCount || 1) >= 2 ? 2 : 1;
  let seq = 0;
  const graph = buildCaptureGraph(track, channels);
  graph.then(
    ({ context, node }) => {
      if (signal.aborted) return;
      node.port.onmessage = ({ data }) => {
        // Map the context time of the chunk's first sample to wall-clock time.
        const stamp = context.getOutputTimestamp();
        const performanceTime = (stamp.performanceTime ?? performance.now()) + (data.time - (stamp.contextTime ?? data.time)) * 1000;
        const ts = performance.timeOrigin + Math.min(performanceTime, performance.now());
        if (uplinkNow() - ts > UPLINK_AUDIO_MAX_AGE_MS) {
          stats.dropped += 1;
          return;
        }
        seq += 1;
        stats.sent += 1;
        stats.bytes += data.buffer.byteLength;
        send({ kind: "up_audio", seq, ts, rate: context.sampleRate, channels }, data.buffer);
      };
    },
    () => {
      stats.errors += 1;
    },
  );
  signal.addEventListener(
    "abort",
    () => {
      graph.then(({ context, source, node }) => {
        node.port.postMessage("stop");
        node.port.onmessage = null;
        source.disconnect();
        node.disconnect();
        return context.close();
      }).catch(() => {});
    },
    { once: true },
  );
  return { acked() {}, keyframe() {}, stats };
}
