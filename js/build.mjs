/**
 * `npm run build`: bundles each widget's entry module, with everything it imports from
 * `lib/`, into one self-contained ES module in `streamcall_widget/static/<widget>.js`, and
 * copies the stylesheet beside them. anywidget loads a widget's module from a string, so
 * the bundle must not import anything itself; `streamcall_widget/widgets/assets.py` reads
 * these files. The list of entries lives here only. Run from the repository root (npm does).
 */
import * as esbuild from "esbuild";

/** Output name (no extension) → source, one per widget, plus the shared stylesheet. */
const ENTRIES = {
  call_view: "js/call_view.js",
  login_panel: "js/login_panel.js",
  device_controls: "js/device_controls.js",
  style: "js/style.css",
};

await esbuild.build({
  entryPoints: ENTRIES,
  outdir: "streamcall_widget/static",
  bundle: true,
  format: "esm",
  target: "es2022",
  // Readable output (tracebacks in the browser point at real names); no source map: the
  // bundle travels with every widget, and the sources are a click away in js/.
  minify: false,
  sourcemap: false,
  logLevel: "info",
});
