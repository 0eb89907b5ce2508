/**
 * CallView renderer (the "magicDiv"): the call screens (incoming, outgoing over the own
 * preview, joining, ended with its reason in words, the kernel gone), the participant tiles
 * (and shared screens) in four layouts, and over them the call controls (`CALL_CONTROLS`),
 * the REC indicator, the timer, the media path and the "Reconnecting..." banner. Media is per model
 * (`initialize`): the page as a device (capture), the WebRTC link with the kernel, the
 * widget-channel fallback (frame receiver, audio player, uplink), the ringtone, the viewport
 * report and the incoming-call notice, all shared by the model's views, all stopped when
 * the kernel is gone.
 */
import { actionButton, avatar, h, listen } from "./lib/dom.js";
import { createAudioGate, createAudioPlayer, createRingtone } from "./lib/audio.js";
import { createPageCapture } from "./lib/capture.js";
import { createChatPanel } from "./lib/chat.js";
import { createControlBar } from "./lib/control_bar.js";
import { createDialer } from "./lib/dialer.js";
import { createFrameReceiver } from "./lib/frames.js";
import { createKeypad } from "./lib/keypad.js";
import { watchKernel } from "./lib/kernel_watch.js";
import { onMessage, setTrait, watch } from "./lib/model.js";
import { showErrorNotice, showIncomingNotice } from "./lib/notify.js";
import { createPageLink } from "./lib/page_link.js";
import { createPermissionNotices } from "./lib/permission_notice.js";
import { createErrorLine, createRequester } from "./lib/requests.js";
import { tr } from "./lib/strings.js";
import { arrangeTiles, createTileSet } from "./lib/tiles.js";
import { createPipeUplink } from "./lib/uplink_pipe.js";
import { observeTileSizes, createViewportReporter } from "./lib/viewport.js";
import { observeVisibility } from "./lib/visibility.js";

/** The layouts, in the order the layout button cycles them. */
const LAYOUTS = ["grid", "spotlight", "dynamic", "fullscreen"];

/** How long a ringing call waits for a view to report itself visible before the notice. */
const NOTICE_GRACE_MS = 400;

/** The call screens' button actions → request kinds (Cancel of an outgoing call hangs up). */
const ACTION_REQUESTS = {
  accept: "accept",
  reject: "reject",
  cancel: "hangup",
  dismiss: "dismiss",
};

/** The phases with a media session (the controls, timer and media path show). */
const IN_SESSION = ["joining", "joined", "reconnecting"];

/** @param {import("./lib/control_bar.js").ControlContext} ctx */
const inSession = (ctx) => IN_SESSION.includes(ctx.call.state);

/**
 * The call controls over the video, left to right: one entry per button (the fields are
 * documented in lib/control_bar.js and docs/widgets.md, "Call controls"). A new control is
 * one entry here: a `request` (a kind of CallView.requests), a `run` in the page, or a
 * `panel` that opens over the video (a keypad, a chat), shown when `visible` says.
 * @type {import("./lib/control_bar.js").CallControl[]}
 */
const CALL_CONTROLS = [
  {
    action: "microphone",
    icon: "microphone",
    label: "streamcall_microphone",
    visible: (ctx) => inSession(ctx) && ctx.call.can_send_audio !== false,
    pressed: (ctx) => ctx.media.microphone !== false,
    crossWhenOff: true,
    state: (ctx) => (ctx.media.microphone !== false ? "streamcall_microphone_is_on" : "streamcall_microphone_is_off"),
    request: "microphone",
  },
  {
    action: "camera",
    icon: "camera",
    label: "streamcall_camera",
    visible: (ctx) => inSession(ctx) && ctx.call.can_send_video !== false,
    pressed: (ctx) => ctx.media.camera !== false,
    crossWhenOff: true,
    state: (ctx) => (ctx.media.camera !== false ? "streamcall_camera_is_on" : "streamcall_camera_is_off"),
    request: "camera",
  },
  {
    action: "share",
    icon: "share",
    label: (ctx) => (ctx.call.sharing ? "streamcall_stop_sharing" : "streamcall_share_screen"),
    visible: (ctx) => ctx.call.state === "joined" && Boolean(ctx.call.can_share),
    pressed: (ctx) => Boolean(ctx.call.sharing),
    request: "share_screen",
  },
  {
    action: "layout",
    icon: "layout",
    label: "streamcall_layout",
    visible: inSession,
    state: (ctx) => `streamcall_layout_${ctx.layout}`,
    run: (ctx) => setTrait(ctx.model, "tile_layout", LAYOUTS[(LAYOUTS.indexOf(ctx.layout) + 1) % LAYOUTS.length]),
  },
  {
    action: "raise_hand",
    icon: "hand",
    label: "streamcall_raise_hand",
    visible: (ctx) => ctx.call.state === "joined" && ctx.call.can_send_audio === false,
    request: "raise_hand",
  },
  {
    action: "live",
    icon: "live",
    label: (ctx) => (ctx.call.live ? "streamcall_stop_live" : "streamcall_go_live"),
    visible: (ctx) => ctx.call.state === "joined" && Boolean(ctx.call.can_go_live),
    pressed: (ctx) => Boolean(ctx.call.live),
    state: (ctx) => (ctx.call.live ? "streamcall_is_live" : "streamcall_backstage"),
    request: "live",
  },
  {
    action: "hold",
    icon: "hold",
    label: (ctx) => (ctx.call.on_hold ? "streamcall_resume" : "streamcall_hold"),
    visible: (ctx) => ctx.call.state === "joined",
    pressed: (ctx) => Boolean(ctx.call.on_hold),
    state: (ctx) => (ctx.call.on_hold ? "streamcall_on_hold" : "streamcall_not_on_hold"),
    request: "hold",
  },
  {
    action: "deaf",
    icon: "speaker",
    label: (ctx) => (ctx.call.deaf ? "streamcall_undeaf" : "streamcall_deaf"),
    visible: inSession,
    pressed: (ctx) => !ctx.call.deaf,
    crossWhenOff: true,
    request: "deaf",
  },
  {
    action: "keypad",
    icon: "keypad",
    label: "streamcall_keypad",
    visible: (ctx) => ctx.call.state === "joined",
    panel: (ctx, _close, signal) => {
      const pad = createKeypad({ onTones: (tones) => ctx.request("dtmf", { tones }), text: ctx.text });
      signal.addEventListener("abort", pad.cleanup, { once: true });
      return pad.element;
    },
  },
  {
    action: "chat",
    icon: "chat",
    label: "streamcall_chat",
    visible: (ctx) => ctx.call.state === "joined",
    badge: (ctx) => Number(ctx.model.get("chat_unread")) || 0,
    panel: (ctx, _close, signal) => {
      ctx.request("chat_read");
      const unread = () => {
        if (Number(ctx.model.get("chat_unread")) > 0) ctx.request("chat_read");
      };
      watch(ctx.model, ["chat_unread"], unread, signal);
      const send = (/** @type {string} */ text) => ctx.request("send_message", { text });
      return createChatPanel({ model: ctx.model, send, text: ctx.text, signal }).element;
    },
  },
  {
    action: "record",
    icon: "record",
    label: (ctx) => (ctx.call.recording ? "streamcall_stop_recording" : "streamcall_record"),
    visible: (ctx) => ctx.call.state === "joined" && Boolean(ctx.call.can_record),
    pressed: (ctx) => Boolean(ctx.call.recording),
    request: "record",
  },
  {
    action: "hangup",
    icon: "hangup",
    label: "stream_video_call_hangup",
    visible: inSession,
    request: "hangup",
    variant: "danger",
  },
];

/** The per-model states made by `initialize`, by the model's `_instance` id (see `stateOf`). */
const MODEL_STATES = new Map();

/**
 * Whether `call` is an incoming call still ringing.
 * @param {any} call
 */
function isIncomingRinging(call) {
  return Boolean(call) && call.state === "ringing" && call.direction === "incoming";
}

/**
 * anywidget gives `initialize` and each `render` a different proxy of one model, so the
 * state is found by the `_instance` trait: a random id the kernel gives each CallView.
 * @param {any} model
 */
function stateOf(model) {
  return MODEL_STATES.get(model.get("_instance")) ?? null;
}

/**
 * Play the call's audio while `audio_output` is on; flush and close the player when off.
 * @param {any} model
 * @param {{allowed: () => boolean}} gate
 * @param {AbortSignal} signal
 */
function playCallAudio(model, gate, signal) {
  const player = createAudioPlayer(gate);
  const play = (audio, pcm) => {
    if (model.get("audio_output") && pcm) player.push(pcm, audio.rate, audio.channels || 1);
  };
  onMessage(model, "audio", (content, buffers) => play(content, buffers[0]), signal);
  // Audio riding in a frames message: its PCM is the buffer after the tiles' JPEGs.
  onMessage(model, "frames", (content, buffers) => {
    if (content.audio) play(content.audio, buffers[(content.tiles || []).length]);
  }, signal);
  watch(model, ["audio_output"], () => model.get("audio_output") || player.stop(), signal);
  signal.addEventListener("abort", player.stop, { once: true });
  return player;
}

/**
 * Play the call's audio from the page link's audio slots (one element per participant, so
 * the browser's echo cancellation hears it, each at its participant's `volumes` entry)
 * while `audio_output` is on and the page allows audio; `setSink(id)` moves it to another speaker.
 * @param {any} model
 * @param {ReturnType<typeof createPageLink>} link
 * @param {{allowed: () => boolean, onAllow: (fn: () => void) => void}} gate
 * @param {AbortSignal} signal
 */
function playLinkAudio(model, link, gate, signal) {
  /** @type {Map<MediaStream, HTMLAudioElement>} */
  const players = new Map();
  let sink = "";
  const sinkOf = (el) => {
    if (sink && "setSinkId" in el) el.setSinkId(sink).catch((error) => console.warn("streamcall: setSinkId", error));
  };
  /** A tile's volume: its participant's entry of `volumes` (a screen follows its sharer). */
  const volumeOf = (key) => {
    const volume = Number((model.get("volumes") || {})[key.split(":")[0]] ?? 1);
    return Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : 1;
  };
  const update = () => {
    const keyOf = new Map(link.audio().map(([key, stream]) => [stream, key]));
    const wanted = new Set(keyOf.keys());
    for (const [stream, el] of players) {
      if (wanted.has(stream)) continue;
      el.srcObject = null;
      players.delete(stream);
    }
    const on = Boolean(model.get("audio_output")) && gate.allowed();
    for (const stream of wanted) {
      let el = players.get(stream);
      if (!el) {
        el = new Audio();
        el.srcObject = stream;
        sinkOf(el);
        players.set(stream, el);
      }
      el.muted = !on;
      el.volume = volumeOf(keyOf.get(stream) || "");
      if (on && el.paused) el.play().catch(() => {});
    }
  };
  watch(model, ["audio_output", "volumes"], update, signal);
  gate.onAllow(update);
  signal.addEventListener("abort", () => {
    for (const el of players.values()) el.srcObject = null;
    players.clear();
  }, { once: true });
  return {
    update,
    /** @param {string} deviceId */
    setSink(deviceId) {
      sink = deviceId;
      for (const el of players.values()) sinkOf(el);
    },
  };
}

/**
 * The page's captures go up the link when it is connected, else over the widget channel;
 * `reroute()` moves them when the link comes up or goes down.
 * @param {ReturnType<typeof createPageLink>} link
 * @param {ReturnType<typeof createPipeUplink>} pipe
 */
function createUplinkRouter(link, pipe) {
  /** @type {Map<string, MediaStreamTrack>} */
  const tracks = new Map();
  const route = (role) => {
    const track = tracks.get(role) || null;
    if (track && link.send(role, track)) {
      pipe.stop(role);
    } else {
      link.send(role, null);
      if (track && link.mayUsePipe()) pipe.start(role, track);
      else pipe.stop(role);
    }
  };
  return {
    /** @param {string} role @param {MediaStreamTrack} track */
    onTrack(role, track) {
      tracks.set(role, track);
      route(role);
    },
    /** @param {string} role */
    onEnded(role) {
      tracks.delete(role);
      route(role);
    },
    reroute() {
      for (const role of tracks.keys()) route(role);
    },
  };
}

/**
 * The alerts of an incoming call: the ringtone (once the page allows audio, started after
 * the banner is drawn) and, when no view is visible, the notice with Accept / Reject.
 * @param {any} model
 * @param {ReturnType<typeof createRequester>} request
 * @param {ReturnType<typeof createAudioGate>} gate
 * @param {AbortSignal} signal
 * @returns {(visible: boolean) => void} to call when the views' visibility changes
 */
function alertIncomingCalls(model, request, gate, signal) {
  const ringtone = createRingtone();
  let visible = false;
  let closeNotice = null;
  let timer = 0;

  const notice = () => ({
    message: tr(model, "stream_video_call_incoming", (model.get("call").caller || {}).name || ""),
    acceptLabel: tr(model, "stream_video_call_accept"),
    rejectLabel: tr(model, "stream_video_call_reject"),
    onAction: (action) =>
      request(action).then((reply) => {
        if (reply && reply.ok === false) showErrorNotice((reply.error || {}).message || action);
      }),
  });
  const update = () => {
    clearTimeout(timer);
    const ringing = isIncomingRinging(model.get("call"));
    timer = setTimeout(() => {
      if (ringing && gate.allowed()) ringtone.start();
      else ringtone.stop();
      if (ringing && !visible && !closeNotice) {
        closeNotice = showIncomingNotice(notice());
      } else if ((!ringing || visible) && closeNotice) {
        closeNotice();
        closeNotice = null;
      }
    }, ringing && !visible ? NOTICE_GRACE_MS : 0);
  };

  watch(model, ["call"], update, signal);
  gate.onAllow(update);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    ringtone.stop();
    if (closeNotice) closeNotice();
  }, { once: true });
  update();
  return (nowVisible) => {
    visible = nowVisible;
    update();
  };
}

/**
 * The media and alerts of one model, shared by its views, until `signal` aborts or the
 * kernel is gone (then the captures, the link, the audio and the alerts stop, and the
 * views are told: `linkWatchers`, `kernelGone()`).
 * @param {any} model
 * @param {AbortSignal} signal
 */
function createModelState(model, signal) {
  const live = new AbortController();
  signal.addEventListener("abort", () => live.abort(), { once: true });
  /** @type {Set<() => void>} views to refresh when the link's slots or state change */
  const linkWatchers = new Set();
  const kernel = watchKernel(model, signal, () => {
    live.abort();
    for (const watcher of linkWatchers) watcher();
  });
  const request = createRequester(model, live.signal, kernel.fire);
  const gate = createAudioGate(live.signal);
  const onVisible = alertIncomingCalls(model, request, gate, live.signal);
  const pipeAudio = playCallAudio(model, gate, live.signal);
  /** @type {ReturnType<typeof startPageMedia> | null} */
  let media = null;
  return {
    model,
    request,
    linkWatchers,
    kernelGone: kernel.gone,
    frames: createFrameReceiver(model, live.signal),
    viewport: createViewportReporter(model, live.signal, onVisible),
    /**
     * Make the page a device of the kernel and open the link: on the first view shown,
     * never for a model no view shows (the page would capture for nothing, the kernel
     * encode for nothing).
     */
    start() {
      if (!media && !live.signal.aborted) media = startPageMedia(model, live.signal, gate, pipeAudio, linkWatchers);
    },
    /** @param {any} p a tile: its native stream (null until a view started the media) */
    videoOf: (p) => (media ? media.videoOf(p) : null),
  };
}

/**
 * The page's captures, the link and the link's audio of one model, until `signal` aborts;
 * `linkWatchers` are told when what the views show changes.
 * @param {any} model
 * @param {AbortSignal} signal
 * @param {ReturnType<typeof createAudioGate>} gate
 * @param {ReturnType<typeof createAudioPlayer>} pipeAudio
 * @param {Set<() => void>} linkWatchers
 */
function startPageMedia(model, signal, gate, pipeAudio, linkWatchers) {
  let router = null;
  let linkAudio = null;
  const redraw = () => {
    for (const watcher of linkWatchers) watcher();
  };
  const link = createPageLink(model, signal, {
    onChange() {
      router.reroute();
      linkAudio.update();
      redraw();
    },
  });
  linkAudio = playLinkAudio(model, link, gate, signal);
  router = createUplinkRouter(link, createPipeUplink(model, signal));
  const capture = createPageCapture(model, signal, {
    onTrack(role, track) {
      router.onTrack(role, track);
      redraw(); // the self-view shows the new camera
    },
    onEnded(role) {
      router.onEnded(role);
      redraw();
    },
    onSink(deviceId) {
      linkAudio.setSink(deviceId);
      pipeAudio.setSink(deviceId);
    },
  });
  /** @type {WeakMap<MediaStreamTrack, MediaStream>} */
  const ownStreams = new WeakMap();
  /** The page's own camera as a stream (the self-view), if it captures one. */
  const ownCamera = () => {
    const track = capture.tracks.get("camera");
    if (!track) return null;
    if (!ownStreams.has(track)) ownStreams.set(track, new MediaStream([track]));
    return ownStreams.get(track) || null;
  };
  return {
    /** @param {any} p a tile: its native stream, the page's own camera for its self-view */
    videoOf: (p) => (p.page_preview ? ownCamera() : link.videoOf(p.key)),
  };
}

/** Model setup: the shared state, found again by each view. */
function initialize({ model }) {
  const controller = new AbortController();
  const state = createModelState(model, controller.signal);
  const instance = model.get("_instance");
  MODEL_STATES.set(instance, state);
  return () => {
    MODEL_STATES.delete(instance);
    controller.abort();
  };
}

/**
 * `seconds` as m:ss (h:mm:ss past an hour).
 * @param {number} seconds
 */
function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  const hours = Math.floor(total / 3600);
  const clock = `${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return hours ? `${hours}:${clock}` : clock;
}

/**
 * The ended screen's sentence: why the call ended, in words (`call.ended`, made by the
 * kernel from the reason word and the direction: "Bob is busy", "Missed call from Alice").
 * @param {any} model
 * @param {any} call
 */
function endedText(model, call) {
  const ended = call.ended || { key: "streamcall_ended", args: [call.reason || ""] };
  return tr(model, ended.key, ...(ended.args || []));
}

/**
 * The other side of an ended call, for its avatar: the caller when rung, else the callees.
 * @param {any} call
 */
function otherSide(call) {
  const caller = call.caller || {};
  if (call.direction === "incoming") return caller.user_id ? [caller] : [];
  return (call.members || []).filter((m) => m.user_id !== caller.user_id);
}

/**
 * A labelled action button.
 * @param {string} action
 * @param {string} label
 * @param {string} [extraClass]
 */
function labelledButton(action, label, extraClass) {
  const button = actionButton(action, extraClass);
  button.textContent = label;
  return button;
}

/**
 * The screen shown for the call's phase (empty while joined: the tiles are the screen).
 * @param {any} model
 * @param {any} call
 * @param {HTMLElement} idle the idle screen (the view's dialer, kept across redraws)
 * @returns {Array<HTMLElement>}
 */
function screenFor(model, call, idle) {
  const text = (key, ...args) => tr(model, key, ...args);
  if (!call.state) return [idle];
  if (call.state === "ringing" && call.direction === "incoming") {
    const caller = call.caller || {};
    return [
      avatar(caller, "sc-avatar--large"),
      h("p", { class: "sc-headline", text: text("stream_video_call_incoming", caller.name || caller.user_id || "") }),
      h("div", { class: "sc-actions" }, [
        labelledButton("accept", text("stream_video_call_accept"), "sc-button--accept"),
        labelledButton("reject", text("stream_video_call_reject"), "sc-button--reject"),
      ]),
    ];
  }
  if (call.state === "ringing") {
    const local = (model.get("participants") || []).find((p) => p.is_local) || {};
    const callerId = (call.caller || {}).user_id;
    const callees = (call.members || []).filter((m) => m.user_id !== callerId && m.user_id !== local.user_id);
    return [
      h("div", { class: "sc-avatars" }, callees.map((m) => avatar(m, "sc-avatar--large"))),
      h("p", { class: "sc-headline", text: text("streamcall_outgoing", callees.map((m) => m.name || m.user_id).join(", ")) }),
      h("div", { class: "sc-actions" }, [labelledButton("cancel", text("streamcall_cancel"), "sc-button--reject")]),
    ];
  }
  if (call.state === "left") {
    return [
      h("div", { class: "sc-avatars" }, otherSide(call).map((m) => avatar(m, "sc-avatar--large"))),
      h("p", { class: "sc-headline", "data-reason": call.reason || "", text: endedText(model, call) }),
      h("div", { class: "sc-actions" }, [labelledButton("dismiss", text("streamcall_dismiss"))]),
    ];
  }
  return [];
}

/**
 * The banner over the video for a phase that is not the call itself: joining, the
 * coordinator away ("Reconnecting..."; media may still flow meanwhile), or the call on hold.
 * @param {any} model
 * @param {any} call
 */
function bannerText(model, call) {
  const phase = { joining: "stream_video_call_joining", reconnecting: "stream_video_call_reconnecting" }[call.state];
  if (phase) return tr(model, phase);
  return call.state === "joined" && call.on_hold ? tr(model, "streamcall_you_hold") : "";
}

/**
 * Enter the browser's fullscreen for the fullscreen layout when allowed (it needs a user
 * gesture); otherwise the stylesheet makes the view fill the window. Leaving the layout
 * leaves fullscreen.
 * @param {HTMLElement} el
 * @param {boolean} wanted
 */
function applyFullscreen(el, wanted) {
  if (wanted && !document.fullscreenElement && el.requestFullscreen) {
    el.requestFullscreen().catch(() => {});
  } else if (!wanted && document.fullscreenElement === el) {
    document.exitFullscreen().catch(() => {});
  }
}

/** Render one CallView view. */
function render({ model, el }) {
  const controller = new AbortController();
  const signal = controller.signal;
  let state = stateOf(model);
  if (!state) {
    // A host without `initialize`: this view owns the model's media.
    state = createModelState(model, signal);
  }
  const errorLine = createErrorLine(model, signal);
  state.start();
  const report = state.viewport.addView();
  observeVisibility(el, report.setVisible, signal);
  const sizes = observeTileSizes((tiles) => {
    report.setTiles(tiles);
    state.frames.redraw();
  }, signal);

  let framesDrawn = 0;
  el.dataset.framesDrawn = "0";
  const stage = h("div", { class: "sc-stage" });
  const tileSet = createTileSet(stage, state.frames, sizes, () => {
    el.dataset.framesDrawn = String(++framesDrawn);
  }, state.videoOf);
  const screen = h("div", { class: "sc-screen" });
  const dialer = createDialer({ model, request: state.request, text: (key, ...args) => tr(model, key, ...args), signal });
  const timer = h("span", { class: "sc-timer", role: "timer" });
  const path = h("span", { class: "sc-path", role: "status" });
  const rec = h("span", { class: "sc-rec", role: "status" });
  const banner = h("p", { class: "sc-banner", role: "status" });
  // Where this kernel's latest recording of the call went (in the call and once it ended).
  const saved = h("p", { class: "sc-saved", role: "status", hidden: true });
  const gone = h("p", { class: "sc-gone", role: "alert", hidden: true });
  const controls = createControlBar(CALL_CONTROLS, signal);
  const asks = createPermissionNotices((kind, fields) => request(kind, fields), signal);
  // The video area: the tiles, and over them the corner (timer, media path), the banner,
  // the permission requests, an open control's panel and the controls; the same in every
  // layout (fullscreen too).
  const area = h("div", { class: "sc-area" }, [
    stage,
    h("div", { class: "sc-corner" }, [rec, timer, path]),
    banner,
    asks.element,
    controls.panel,
    controls.bar,
  ]);

  let screenShown = "";
  let clock = { base: 0, at: performance.now() };
  let layoutShown = "";

  const showTimer = () => {
    const joined = (model.get("call") || {}).state === "joined" && !state.kernelGone();
    timer.hidden = !joined;
    if (joined) timer.textContent = formatDuration(clock.base + (performance.now() - clock.at) / 1000);
  };
  const request = (kind, fields) => {
    const reply = state.request(kind, fields);
    reply.then(errorLine.showReply);
    return reply;
  };
  const refresh = () => {
    const kernelGone = state.kernelGone();
    const call = kernelGone ? {} : model.get("call") || {};
    const layout = model.get("tile_layout") || "grid";
    const participants = kernelGone ? [] : model.get("participants") || [];
    const text = (key, ...args) => tr(model, key, ...args);
    el.dataset.state = call.state || "idle";
    el.dataset.direction = call.direction || "";
    el.dataset.layout = layout;
    el.dataset.kernel = kernelGone ? "gone" : "live";
    gone.hidden = !kernelGone;
    gone.textContent = kernelGone ? text("streamcall_kernel_gone") : "";
    const shown = JSON.stringify([call, model.get("_strings"), participants.find((p) => p.is_local)?.user_id, kernelGone]);
    if (shown !== screenShown) screen.replaceChildren(...(kernelGone ? [] : screenFor(model, call, dialer)));
    screenShown = shown;
    const pins = kernelGone ? [] : model.get("pins") || [];
    const menu = { pins, volumes: model.get("volumes") || {}, canPinForEveryone: Boolean(model.get("can_pin_for_everyone")), text, request };
    tileSet.update(participants, arrangeTiles(layout, participants, pins), text, menu);
    banner.textContent = bannerText(model, call);
    banner.hidden = !banner.textContent;
    asks.update(call.state === "joined" ? call.permission_requests || [] : [], text);
    controls.update({ model, call, media: model.get("local_media") || {}, layout, text, request });
    const linkPath = model.get("link_path") || "pipe";
    path.dataset.path = el.dataset.path = linkPath;
    path.textContent = text(`streamcall_path_${linkPath}`);
    path.hidden = !IN_SESSION.includes(call.state);
    rec.hidden = !(call.recording && IN_SESSION.includes(call.state));
    rec.textContent = text("streamcall_rec");
    rec.title = text("streamcall_being_recorded");
    const file = call.saved_recording;
    saved.hidden = !file || call.recording;
    saved.textContent = file ? text("streamcall_recording_saved", file.name, formatDuration(file.duration)) : "";
    saved.title = file ? file.path : "";
    const fullscreen = layout === "fullscreen" && !kernelGone;
    if (String(fullscreen) !== layoutShown) applyFullscreen(el, fullscreen);
    layoutShown = String(fullscreen);
    showTimer();
  };

  listen(el, "click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target || !el.contains(target) || controls.bar.contains(target)) return;
    const kind = ACTION_REQUESTS[target.dataset.action];
    if (kind) request(kind);
  }, signal);
  watch(model, ["duration"], () => {
    clock = { base: Number(model.get("duration")) || 0, at: performance.now() };
    showTimer();
  }, signal);
  watch(model, ["call", "tile_layout", "participants", "_strings", "link_path", "local_media", "chat_unread", "pins", "volumes", "can_pin_for_everyone"], refresh, signal);
  state.linkWatchers.add(refresh);
  signal.addEventListener("abort", () => state.linkWatchers.delete(refresh), { once: true });
  const ticker = setInterval(showTimer, 1000);
  clock = { base: Number(model.get("duration")) || 0, at: performance.now() };
  refresh();

  el.classList.add("sc-root", "sc-call");
  el.replaceChildren(gone, screen, area, saved, errorLine.el);
  return () => {
    clearInterval(ticker);
    tileSet.clear();
    report.remove();
    applyFullscreen(el, false);
    controller.abort();
    el.replaceChildren();
  };
}

export default { initialize, render };
