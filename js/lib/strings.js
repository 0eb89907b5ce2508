/**
 * The words of the widgets, from the `_strings` trait (the kernel picks the language).
 * A missing key shows the key itself, so a missing translation is visible, not blank.
 */

/**
 * The string `key` of the model's language with `%1$s`, `%2$s`... replaced by `args`.
 * @param {any} model
 * @param {string} key
 * @param {...string} args
 * @returns {string}
 */
export function tr(model, key, ...args) {
  const strings = model.get("_strings") || {};
  const template = typeof strings[key] === "string" ? strings[key] : key;
  return template.replace(/%(\d+)\$s/g, (match, index) => {
    const value = args[Number(index) - 1];
    return value === undefined ? match : String(value);
  });
}
