"""CallView benchmark: a live call's video drawn by the widget in real Chromium and JupyterLab.

Run ``python -m bench.widget`` (``--quick`` for a 2 s smoke run, ``--seconds N`` for any
window length). A notebook written by the bench runs two ``StreamCall`` clients in one kernel on the
embedded coordinator; bob's synthetic 640x480@30 camera stamps a frame counter into every
frame and alice's ``CallView`` shows bob's tile at 640x480 device pixels in JupyterLab in
headless Chromium. The page's draw hook reports every painted frame with the kernel's
arrival time, and the stamp is read back from the canvas. Figures: frames drawn per second
against the rate the kernel received, kernel-to-paint latency (also with the page's
animation frames throttled to 10 fps), and the kernel CPU each frame sent costs against the
same call with the view not shown. On the same call, issue 13's comparison: the WebRTC path
(``media_path="webrtc"``, the stamp read from each presented video frame), the JPEG pipe and
the thinnest anywidget JPEG pipe (:mod:`.thin`) side by side (frames drawn, latency, kernel
and Chromium CPU); the quickstart's two views; and the page camera's latency to bob's
kernel. Results go to ``bench/out/widget.md``, ``widget.json`` and stdout.
"""
