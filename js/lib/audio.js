/**
 * Call audio in the page: a gate that opens on the first user gesture (browsers refuse to
 * start audio before one), an AudioWorklet player for the kernel's PCM chunks, and the
 * ringtone of an incoming call made with oscillators (no audio file to ship or fetch).
 */

/** The jitter buffer: playback starts once this much is queued (s)... */
const JITTER_PREFILL_S = 0.12;
/** ...and holds at most this much, dropping the oldest samples beyond (s). */
const JITTER_MAX_S = 0.3;

/**
 * The worklet: a ring buffer per channel, fed interleaved Float32 samples through its port
 * ("flush" empties it); silence on underrun until the prefill is queued again.
 */
const PLAYER_WORKLET_SOURCE = `
class StreamcallPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { capacity, prefill } = options.processorOptions;
    this.capacity = capacity;
    this.prefill = prefill;
    this.channels = options.outputChannelCount[0];
    this.ring = Array.from({ length: this.channels }, () => new Float32Array(capacity));
    this.read = 0;
    this.size = 0;
    this.playing = false;
    this.port.onmessage = (event) => (event.data === "flush" ? this.flush() : this.write(event.data));
  }
  flush() {
    this.size = 0;
    this.playing = false;
  }
  write(samples) {
    const frames = samples.length / this.channels;
    for (let frame = 0; frame < frames; frame++) {
      if (this.size === this.capacity) {
        this.read = (this.read + 1) % this.capacity;
        this.size--;
      }
      const at = (this.read + this.size) % this.capacity;
      for (let c = 0; c < this.channels; c++) this.ring[c][at] = samples[frame * this.channels + c];
      this.size++;
    }
  }
  process(inputs, outputs) {
    const out = outputs[0];
    if (!this.playing && this.size >= this.prefill) this.playing = true;
    for (let i = 0; i < out[0].length; i++) {
      const has = this.playing && this.size > 0;
      for (let c = 0; c < out.length; c++) {
        out[c][i] = has ? this.ring[Math.min(c, this.channels - 1)][this.read] : 0;
      }
      if (has) {
        this.read = (this.read + 1) % this.capacity;
        this.size--;
      }
    }
    if (this.size === 0) this.playing = false;
    return true;
  }
}
registerProcessor("streamcall-player", StreamcallPlayer);
`;

/**
 * Whether "the page allows audio": true once the user pressed a key or a pointer anywhere
 * in the document (or already had before this module loaded).
 * @param {AbortSignal} signal
 * @returns {{allowed: () => boolean, onAllow: (fn: () => void) => void}}
 */
export function createAudioGate(signal) {
  let allowed = Boolean(navigator.userActivation && navigator.userActivation.hasBeenActive);
  const waiting = new Set();
  const open = () => {
    if (allowed) return;
    allowed = true;
    for (const fn of waiting) fn();
    waiting.clear();
  };
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, open, { signal, capture: true });
  }
  return {
    allowed: () => allowed,
    onAllow: (fn) => (allowed ? fn() : waiting.add(fn)),
  };
}

/**
 * Signed 16-bit little-endian PCM to floats in -1..1.
 * @param {DataView} view
 * @returns {Float32Array}
 */
function pcm16ToFloat(view) {
  const samples = new Float32Array(view.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
  return samples;
}

/**
 * An AudioContext at `rate` running the player worklet with `channels` outputs. The
 * worklet's module is loaded from a Blob URL, revoked once loaded.
 * @param {number} rate
 * @param {number} channels
 * @returns {Promise<{context: AudioContext, node: AudioWorkletNode}>}
 */
async function buildPlayerGraph(rate, channels) {
  const context = new AudioContext({ sampleRate: rate, latencyHint: "interactive" });
  const url = URL.createObjectURL(new Blob([PLAYER_WORKLET_SOURCE], { type: "text/javascript" }));
  try {
    // audioWorklet exists only in a secure context (https or localhost).
    await context.audioWorklet.addModule(url);
  } catch (error) {
    context.close();
    throw error;
  } finally {
    URL.revokeObjectURL(url);
  }
  const node = new AudioWorkletNode(context, "streamcall-player", {
    numberOfInputs: 0,
    outputChannelCount: [channels],
    processorOptions: {
      capacity: Math.round(rate * JITTER_MAX_S),
      prefill: Math.round(rate * JITTER_PREFILL_S),
    },
  });
  node.connect(context.destination);
  return { context, node };
}

/**
 * The call's audio player: `push(chunk, rate, channels)` queues a PCM chunk (ignored until
 * the gate opens), `stop()` flushes and closes the audio graph (rebuilt on the next push),
 * `setSink(id)` plays it on another speaker.
 * @param {{allowed: () => boolean}} gate
 */
export function createAudioPlayer(gate) {
  let graph = null;
  let format = "";
  let sink = "";
  /** Play on the chosen speaker, where the browser can choose (AudioContext.setSinkId). */
  const toSink = (context) => {
    if (sink && "setSinkId" in context) context.setSinkId(sink).catch(() => {});
  };
  const stop = () => {
    if (graph) graph.then(({ context, node }) => {
      node.port.postMessage("flush");
      return context.close();
    }).catch(() => {});
    graph = null;
    format = "";
  };
  const push = (chunk, rate, channels) => {
    if (!gate.allowed()) return;
    const wanted = `${rate}/${channels}`;
    if (wanted !== format) {
      stop();
      format = wanted;
      graph = buildPlayerGraph(rate, channels);
      graph.then(({ context }) => toSink(context)).catch(() => {});
    }
    const samples = pcm16ToFloat(chunk);
    graph.then(({ context, node }) => {
      if (context.state === "suspended") context.resume();
      node.port.postMessage(samples, [samples.buffer]);
    }).catch(() => {});
  };
  /** @param {string} deviceId the speaker to play on from now on */
  const setSink = (deviceId) => {
    sink = deviceId;
    if (graph) graph.then(({ context }) => toSink(context)).catch(() => {});
  };
  return { push, stop, setSink };
}

/**
 * The ringtone: two tones (440 + 480 Hz), two seconds on, two off, until `stop()`.
 * @returns {{start: () => void, stop: () => void}}
 */
export function createRingtone() {
  let context = null;
  let timer = 0;
  return {
    start() {
      if (context) return;
      context = new AudioContext();
      const gain = context.createGain();
      gain.gain.value = 0;
      gain.connect(context.destination);
      for (const frequency of [440, 480]) {
        const oscillator = context.createOscillator();
        oscillator.frequency.value = frequency;
        oscillator.connect(gain);
        oscillator.start();
      }
      const ring = (ctx) => {
        gain.gain.setValueAtTime(0.08, ctx.currentTime);
        gain.gain.setValueAtTime(0, ctx.currentTime + 2);
      };
      const current = context;
      ring(current);
      timer = setInterval(() => ring(current), 4000);
    },
    stop() {
      clearInterval(timer);
      if (context) context.close().catch(() => {});
      context = null;
    },
  };
}
