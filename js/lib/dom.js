/**
 * DOM helpers shared by the three renderers: an element builder, listeners bound to an
 * AbortSignal, and the avatar (picture or initials) every screen shows for a user.
 */

/**
 * Build an element. `attrs` keys: `class`, `text` (textContent), `hidden`, `value`, `type`,
 * and any other attribute (`data-action`, `aria-label`, ...) set with setAttribute; `null`
 * or `undefined` values are skipped so callers can pass optional attributes inline.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {Array<Node | string | null | undefined | false>} [children]
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (name === "class") el.className = String(value);
    else if (name === "text") el.textContent = String(value);
    else if (name === "hidden" || name === "value" || name === "type") el[name] = value;
    else el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child) el.append(child);
  }
  return el;
}

/**
 * A button that carries the stable `data-action` attribute the tests and users rely on;
 * its label is set (and re-set on a language change) by the caller.
 * @param {string} action
 * @param {string} [extraClass]
 * @returns {HTMLButtonElement}
 */
export function actionButton(action, extraClass = "") {
  return /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: `sc-button ${extraClass}`.trim(), "data-action": action })
  );
}

/**
 * Listen to a DOM event until `signal` aborts (the view's or model's cleanup).
 * @param {EventTarget} target
 * @param {string} type
 * @param {(event: any) => void} handler
 * @param {AbortSignal} signal
 * @param {boolean} [capture]
 */
export function listen(target, type, handler, signal, capture = false) {
  target.addEventListener(type, handler, { signal, capture });
}

/**
 * Up to two initials of a display name (or user id), for an avatar without a picture.
 * @param {string | undefined} name
 * @returns {string}
 */
export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => Array.from(word)[0].toUpperCase()).join("") || "?";
}

/**
 * A round avatar: the user's picture when there is one, else their initials (also the
 * fallback when the picture fails to load, e.g. offline).
 * @param {{name?: string, user_id?: string, image?: string} | undefined} user
 * @param {string} [size] a modifier class: "sc-avatar--large" on call screens
 * @returns {HTMLElement}
 */
export function avatar(user, size = "") {
  const label = (user && (user.name || user.user_id)) || "";
  const box = h("span", { class: `sc-avatar ${size}`.trim(), "aria-hidden": "true" });
  const showInitials = () => box.replaceChildren(h("span", { class: "sc-initials", text: initials(label) }));
  if (user && user.image) {
    const img = h("img", { class: "sc-avatar-image", src: user.image, alt: "" });
    img.addEventListener("error", showInitials, { once: true });
    box.append(img);
  } else {
    showInitials();
  }
  return box;
}

/** Numbers the ids that tie a label to its control. */
let fieldCount = 0;

/**
 * A form row: `control` with a <label> tied to it (its text is set by the caller, so it
 * can follow the language).
 * @param {HTMLElement} control
 * @returns {{row: HTMLElement, label: HTMLElement}}
 */
export function labelled(control) {
  control.id = `sc-field-${++fieldCount}`;
  const label = h("label", { class: "sc-label", for: control.id });
  return { row: h("div", { class: "sc-field" }, [label, control]), label };
}
