/**
 * Placeholder until the uplink helper lands (replaced at merge).
 * @param {any} model
 * @param {AbortSignal} signal
 */
export function createPipeUplink(model, signal) {
  return { start(role, track) {}, stop(role) {}, stats() { return {}; } };
}
