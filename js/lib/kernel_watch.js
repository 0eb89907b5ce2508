/**
 * Notice that the widget's kernel is gone (restarted, died, shut down): its widgets then
 * stand for nothing, and the page must say so instead of showing a frozen call.
 *
 * Two signals, both definite (a busy kernel is not gone: a cell running for minutes leaves
 * the kernel `busy`, never one of the statuses below, and sends still go out):
 * - the kernel's status from the widget manager (JupyterLab and Notebook 7 give it:
 *   `restarting`, `autorestarting` after a death, `starting` from the new process, `dead`);
 *   the manager itself marks every model's comm dead on a restart, so nothing from before
 *   it works again;
 * - a request whose send throws: the comm is disposed (JupyterLab's "Cannot send"), for a
 *   front end that does not expose its kernel.
 */

/** Kernel statuses after which the widgets shown before are gone for good: `starting` is
 * what a kernel restarted by someone else (the REST API, another tab) first says. */
const GONE_STATUSES = new Set(["restarting", "autorestarting", "starting", "dead"]);

/**
 * Call `onGone` once when the kernel of `model` (an anywidget model proxy) is gone, until
 * `signal` aborts. `fire()` says so from elsewhere (a send that threw: see `sendOrFire`).
 * Models made after a restart have their own watch: the restarted kernel serves them.
 * @param {any} model
 * @param {AbortSignal} signal
 * @param {() => void} onGone
 * @returns {{gone: () => boolean, fire: () => void}}
 */
export function watchKernel(model, signal, onGone) {
  let gone = false;
  const fire = () => {
    if (gone || signal.aborted) return;
    gone = true;
    onGone();
  };
  const kernel = model && model.widget_manager ? model.widget_manager.kernel : null;
  if (kernel && kernel.statusChanged && typeof kernel.statusChanged.connect === "function") {
    const onStatus = (_kernel, status) => {
      if (GONE_STATUSES.has(status)) fire();
    };
    kernel.statusChanged.connect(onStatus);
    signal.addEventListener("abort", () => kernel.statusChanged.disconnect(onStatus), { once: true });
  }
  return { gone: () => gone, fire };
}

/**
 * `model.send`; when it throws (a disposed comm: the kernel is gone), `onFailed()`.
 * @param {any} model
 * @param {any} content
 * @param {() => void} onFailed
 * @returns {boolean} whether it was sent
 */
export function sendOrFire(model, content, onFailed) {
  try {
    model.send(content);
    return true;
  } catch (error) {
    console.warn("streamcall: the kernel is gone", error);
    onFailed();
    return false;
  }
}
