/**
 * The DTMF keypad: sixteen keys (1 2 3 A / 4 5 6 B / 7 8 9 C / * 0 # D), each press sending
 * its digit at once through `onTones` (the CallView turns it into a `dtmf` request). While
 * the keypad or one of its keys has focus, typing one of those characters (a-d too) presses
 * that key. Listeners are bound to one AbortController: `cleanup()` removes them all.
 */

import { actionButton, h, listen } from "./dom.js";

/** The keys, row by row (the order DTMF's frequency table has them). */
export const KEYPAD_KEYS = ["1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "*", "0", "#", "D"];

/** Keys whose spoken name is a string of its own (screen readers read "*" poorly). */
const SPOKEN = { "*": "streamcall_key_star", "#": "streamcall_key_pound" };

/** How long a key typed on the keyboard shows as pressed (ms). */
const PRESS_MS = 150;

/**
 * @typedef {object} KeypadOptions
 * @property {(tones: string) => void} onTones called with one digit per press
 * @property {(key: string) => string} text the localized string of a strings key
 */

/**
 * Build a keypad.
 * @param {KeypadOptions} options
 * @returns {{ element: HTMLElement, cleanup: () => void, relabel: () => void }}
 */
export function createKeypad({ onTones, text }) {
  const controller = new AbortController();
  const { signal } = controller;
  const element = h("div", { class: "sc-keypad", role: "group", tabindex: "0" });
  /** @type {Map<string, HTMLButtonElement>} */
  const buttons = new Map();
  /** @type {Set<ReturnType<typeof setTimeout>>} */
  const timers = new Set();

  for (const key of KEYPAD_KEYS) {
    const button = actionButton("dtmf", "sc-keypad-key");
    button.dataset.key = key;
    button.textContent = key;
    listen(button, "click", () => onTones(key), signal);
    buttons.set(key, button);
    element.append(button);
  }

  /** Set the group's and every key's accessible name in the current language. */
  function relabel() {
    element.setAttribute("aria-label", text("streamcall_keypad"));
    for (const [key, button] of buttons) {
      const spoken = SPOKEN[key] ? text(SPOKEN[key]) : key;
      button.setAttribute("aria-label", text("streamcall_key").replace("%1$s", spoken));
    }
  }

  listen(
    element,
    "keydown",
    (/** @type {KeyboardEvent} */ event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const key = event.key.length === 1 ? event.key.toUpperCase() : "";
      const button = buttons.get(key);
      if (!button) return;
      event.preventDefault();
      button.classList.add("sc-pressed");
      const timer = setTimeout(() => {
        timers.delete(timer);
        button.classList.remove("sc-pressed");
      }, PRESS_MS);
      timers.add(timer);
      onTones(key);
    },
    signal,
  );

  relabel();
  return {
    element,
    relabel,
    cleanup() {
      controller.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      element.remove();
    },
  };
}
