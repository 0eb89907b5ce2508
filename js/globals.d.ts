// What the renderers read from the page's `window`, for `npm run typecheck` only (esbuild
// never sees this file). Both are optional: the renderers test for them before use.

interface Window {
  /** Benchmark hook, called after each tile paint (bench/ defines it; see js/README.md):
   * a canvas painted from a JPEG frame (`ts`: when the kernel got it), or a frame a native
   * video presented (`native`, `ts` 0: the link carries no kernel time). */
  __streamcall_on_draw?: (draw: {
    key: string;
    ts: number;
    canvas?: HTMLCanvasElement;
    video?: HTMLVideoElement;
    native?: boolean;
    drawnAt: number;
  }) => void;
  /** JupyterLab's application object, present in JupyterLab (lib/notify.js uses its commands). */
  jupyterapp?: any;
}

/** Chromium's MediaStreamTrackProcessor (WebCodecs on tracks), not yet in TypeScript's DOM
 * library: lib/uplink_pipe.js tests for it before use. */
declare class MediaStreamTrackProcessor<T = VideoFrame> {
  constructor(init: { track: MediaStreamTrack; maxBufferSize?: number });
  readonly readable: ReadableStream<T>;
}
