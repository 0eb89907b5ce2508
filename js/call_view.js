/**
 * CallView renderer (the "magicDiv"): the call screens (incoming, outgoing, joining,
 * reconnecting, ended), the participant tiles (and shared screens) in four layouts, the
 * call timer, the Share screen and hang-up buttons, and which path the media takes. Media is
 * per model (`initialize`): the page as a device (capture), the WebRTC link with the kernel,
 * the widget-channel fallback (frame receiver, audio player, uplink), the ringtone, the
 * viewport report and the incoming-call notice, all shared by the model's views.
 */
import { actionButton, avatar, h, listen } from "./lib/dom.js";
import { createAudioGate, createAudioPlayer, createRingtone } from "./lib/audio.js";
import { createPageCapture } from "./lib/capture.js";
import { createDialer } from "./lib/dialer.js";
import { createFrameReceiver } from "./lib/frames.js";
import { onMessage, setTrait, watch } from "./lib/model.js";
import { showIncomingNotice } from "./lib/notify.js";
import { createPageLink } from "./lib/page_link.js";
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

/** Button actions → request kinds (the Cancel of an outgoing call is a hang-up). */
const ACTION_REQUESTS = {
  accept: "accept",
  reject: "reject",
  hangup: "hangup",
  cancel: "hangup",
  dismiss: "dismiss",
  share: "share_screen",
};

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
 * the browser's echo cancellation hears it) while `audio_output` is on and the page allows
 * audio; `setSink(id)` moves it to another speaker.
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
  const update = () => {
    const wanted = new Set(link.audio().map(([, stream]) => stream));
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
      if (on && el.paused) el.play().catch(() => {});
    }
  };
  watch(model, ["audio_output"], update, signal);
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
    onAction: (action) => request(action),
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
 * The media and alerts of one model, shared by its views, until `signal` aborts.
 * @param {any} model
 * @param {AbortSignal} signal
 */
function createModelState(model, signal) {
  const request = createRequester(model, signal);
  const gate = createAudioGate(signal);
  const onVisible = alertIncomingCalls(model, request, gate, signal);
  const pipeAudio = playCallAudio(model, gate, signal);
  /** @type {Set<() => void>} views to refresh when the link's slots or state change */
  const linkWatchers = new Set();
  /** @type {ReturnType<typeof startPageMedia> | null} */
  let media = null;
  return {
    model,
    request,
    linkWatchers,
    frames: createFrameReceiver(model, signal),
    viewport: createViewportReporter(model, signal, onVisible),
    /**
     * Make the page a device of the kernel and open the link: on the first view shown,
     * never for a model no view shows (the page would capture for nothing, the kernel
     * encode for nothing).
     */
    start() {
      if (!media) media = startPageMedia(model, signal, gate, pipeAudio, linkWatchers);
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
      h("p", { class: "sc-headline", text: text("streamcall_ended", call.reason || "") }),
      h("div", { class: "sc-actions" }, [labelledButton("dismiss", text("streamcall_dismiss"))]),
    ];
  }
  const phase = { joining: "stream_video_call_joining", reconnecting: "stream_video_call_reconnecting" }[call.state];
  return phase ? [h("p", { class: "sc-banner", role: "status", text: text(phase) })] : [];
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
  const layoutButton = actionButton("layout");
  const share = actionButton("share");
  const hangup = actionButton("hangup", "sc-button--reject");
  const path = h("span", { class: "sc-path", role: "status" });
  const bar = h("div", { class: "sc-bar" }, [timer, path, h("span", { class: "sc-spacer" }), layoutButton, share, hangup]);

  let screenShown = "";
  let clock = { base: 0, at: performance.now() };
  let layoutShown = "";

  const showTimer = () => {
    const joined = (model.get("call") || {}).state === "joined";
    timer.hidden = !joined;
    if (joined) timer.textContent = formatDuration(clock.base + (performance.now() - clock.at) / 1000);
  };
  const refresh = () => {
    const call = model.get("call") || {};
    const layout = model.get("tile_layout") || "grid";
    const participants = model.get("participants") || [];
    const text = (key, ...args) => tr(model, key, ...args);
    el.dataset.state = call.state || "idle";
    el.dataset.layout = layout;
    const shown = JSON.stringify([call, model.get("_strings"), participants.find((p) => p.is_local)?.user_id]);
    if (shown !== screenShown) screen.replaceChildren(...screenFor(model, call, dialer));
    screenShown = shown;
    tileSet.update(participants, arrangeTiles(layout, participants), text);
    layoutButton.textContent = text("streamcall_layout");
    layoutButton.setAttribute("aria-label", `${text("streamcall_layout")}: ${layout}`);
    share.textContent = text(call.sharing ? "streamcall_stop_sharing" : "streamcall_share_screen");
    share.setAttribute("aria-pressed", String(Boolean(call.sharing)));
    share.hidden = call.state !== "joined" || !call.can_share;
    hangup.textContent = text("stream_video_call_hangup");
    hangup.hidden = !["joining", "joined", "reconnecting"].includes(call.state);
    const linkPath = model.get("link_path") || "pipe";
    path.dataset.path = el.dataset.path = linkPath;
    path.textContent = text(`streamcall_path_${linkPath}`);
    path.hidden = !["joining", "joined", "reconnecting"].includes(call.state);
    if (layout !== layoutShown) applyFullscreen(el, layout === "fullscreen");
    layoutShown = layout;
    showTimer();
  };

  listen(el, "click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target || !el.contains(target)) return;
    const action = target.dataset.action;
    if (action === "layout") {
      const next = LAYOUTS[(LAYOUTS.indexOf(model.get("tile_layout")) + 1) % LAYOUTS.length];
      setTrait(model, "tile_layout", next);
    } else if (ACTION_REQUESTS[action]) {
      state.request(ACTION_REQUESTS[action]).then(errorLine.showReply);
    }
  }, signal);
  watch(model, ["duration"], () => {
    clock = { base: Number(model.get("duration")) || 0, at: performance.now() };
    showTimer();
  }, signal);
  watch(model, ["call", "tile_layout", "participants", "_strings", "link_path"], refresh, signal);
  state.linkWatchers.add(refresh);
  signal.addEventListener("abort", () => state.linkWatchers.delete(refresh), { once: true });
  const ticker = setInterval(showTimer, 1000);
  clock = { base: Number(model.get("duration")) || 0, at: performance.now() };
  refresh();

  el.classList.add("sc-root", "sc-call");
  el.replaceChildren(screen, stage, bar, errorLine.el);
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
