/**
 * A fake anywidget model for the renderer tests (a classic script: defines FakeModel).
 * Traits and events behave like the Backbone model behind anywidget: `set` of a new value
 * fires "change:<trait>" at once. The test reads `sent` (custom messages from the page) and
 * `saved` (traits the page synced), and plays the kernel with `push` and `receive`; its
 * `widget_manager.kernel` plays JupyterLab's kernel status (`kernel.setStatus("restarting")`).
 */
class FakeKernel {
  constructor() {
    this.slots = new Set();
    this.statusChanged = {
      connect: (slot) => this.slots.add(slot),
      disconnect: (slot) => this.slots.delete(slot),
    };
  }
  setStatus(status) {
    for (const slot of [...this.slots]) slot(this, status);
  }
}

class FakeModel {
  constructor(traits) {
    this.traits = { ...traits };
    this.listeners = new Map();
    this.sent = [];
    this.saved = [];
    this.dirty = {};
    this.widget_manager = { kernel: new FakeKernel() };
  }
  get(name) {
    return this.traits[name];
  }
  set(name, value) {
    this.dirty[name] = value;
    this.assign(name, value);
  }
  save_changes() {
    this.saved.push(this.dirty);
    this.dirty = {};
  }
  send(content, callbacks, buffers) {
    this.sent.push(content);
  }
  on(event, callback) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(callback);
  }
  off(event, callback) {
    this.listeners.get(event)?.delete(callback);
  }
  /** How many listeners are registered (a cleanup must bring it back to 0). */
  listenerCount() {
    let count = this.widget_manager.kernel.slots.size;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }
  emit(event, ...args) {
    for (const callback of [...(this.listeners.get(event) || [])]) callback(...args);
  }
  assign(name, value) {
    if (this.traits[name] === value) return;
    this.traits[name] = value;
    this.emit(`change:${name}`, this, value);
  }
  /** The kernel changes traits. */
  push(traits) {
    for (const [name, value] of Object.entries(traits)) this.assign(name, value);
  }
  /** The kernel sends a custom message; buffers are base64 strings. */
  receive(content, buffers = []) {
    const views = buffers.map((text) => {
      const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
      return new DataView(bytes.buffer);
    });
    this.emit("msg:custom", content, views);
  }
}
window.FakeModel = FakeModel;
