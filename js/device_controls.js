/**
 * DeviceControls renderer: microphone and camera toggles, the camera / microphone /
 * speaker pickers, a switch-camera button and the microphone level meter. Every control
 * sends a request; what it shows comes back from the engine as traits. When the kernel is
 * gone the controls give way to a line saying so.
 */
import { actionButton, h, labelled } from "./lib/dom.js";
import { watchKernel } from "./lib/kernel_watch.js";
import { watch } from "./lib/model.js";
import { bindRequest, createErrorLine, createRequester } from "./lib/requests.js";
import { tr } from "./lib/strings.js";

/** The pickers: device kind (the `select` request's device_kind and the trait of the id in
 * use), the `devices` list that feeds it, and its label's string key. */
const PICKERS = [
  ["camera", "cameras", "streamcall_camera"],
  ["microphone", "microphones", "streamcall_microphone"],
  ["speaker", "speakers", "streamcall_speaker"],
];

/** The toggles: button action, request kind, trait and label key. */
const TOGGLES = [
  ["microphone", "set_microphone", "microphone_enabled", "streamcall_microphone"],
  ["camera", "set_camera", "camera_enabled", "streamcall_camera"],
];

/**
 * Fill `select` with the devices of one kind, the one in use selected ("—" when none).
 * @param {HTMLSelectElement} select
 * @param {Array<{id: string, label: string}>} devices
 * @param {string} current
 */
function fillPicker(select, devices, current) {
  const options = devices.map((device) => h("option", { value: device.id, text: device.label || device.id }));
  if (!devices.some((device) => device.id === current)) options.unshift(h("option", { value: current, text: "—" }));
  select.replaceChildren(...options);
  select.value = current;
}

/** Render one DeviceControls view. */
function render({ model, el }) {
  const controller = new AbortController();
  const signal = controller.signal;
  const kernel = watchKernel(model, signal, () => refresh());
  const request = createRequester(model, signal, kernel.fire);
  const errorLine = createErrorLine(model, signal);
  const gone = h("p", { class: "sc-gone", role: "alert", hidden: true });

  const toggles = TOGGLES.map(([action, kind, trait, key]) => {
    const button = actionButton(action, "sc-toggle");
    bindRequest(button, request, kind, errorLine, signal, () => ({ enabled: !model.get(trait) }));
    return { button, trait, key };
  });
  const pickers = PICKERS.map(([kind, list, key]) => {
    const select = /** @type {HTMLSelectElement} */ (h("select", { "data-kind": kind }));
    select.addEventListener("change", () => {
      request("select", { device_kind: kind, device: select.value }).then((reply) => {
        errorLine.showReply(reply);
        refresh();
      });
    }, { signal });
    return { select, kind, list, key, ...labelled(select) };
  });
  const switchCamera = actionButton("switch-camera");
  bindRequest(switchCamera, request, "switch_camera", errorLine, signal);
  const meter = /** @type {HTMLMeterElement} */ (h("meter", { class: "sc-meter", min: 0, max: 1, low: 0.6, high: 0.85 }));
  const meterRow = labelled(meter);

  function refresh() {
    for (const { button, trait, key } of toggles) {
      const enabled = Boolean(model.get(trait));
      button.textContent = tr(model, key);
      button.setAttribute("aria-pressed", String(enabled));
      button.classList.toggle("sc-off", !enabled);
    }
    const devices = model.get("devices") || {};
    for (const picker of pickers) {
      picker.label.textContent = tr(model, picker.key);
      fillPicker(picker.select, devices[picker.list] || [], model.get(picker.kind) || "");
    }
    switchCamera.textContent = tr(model, "streamcall_switch_camera");
    meterRow.label.textContent = tr(model, "streamcall_level");
    el.dataset.kernel = kernel.gone() ? "gone" : "live";
    gone.hidden = !kernel.gone();
    gone.textContent = tr(model, "streamcall_kernel_gone_panel");
    if (kernel.gone()) meter.value = 0;
  }
  const showLevel = () => {
    meter.value = Math.min(1, Math.max(0, Number(model.get("level")) || 0));
  };
  watch(model, ["_strings", "devices", "camera", "microphone", "speaker", "camera_enabled", "microphone_enabled"], refresh, signal);
  watch(model, ["level"], showLevel, signal);
  refresh();
  showLevel();

  el.classList.add("sc-root", "sc-devices");
  el.replaceChildren(
    gone,
    h("div", { class: "sc-actions" }, [...toggles.map((toggle) => toggle.button), switchCamera]),
    h("div", { class: "sc-pickers" }, pickers.map((picker) => picker.row)),
    meterRow.row,
    errorLine.el,
  );
  return () => {
    controller.abort();
    el.replaceChildren();
  };
}

export default { render };
