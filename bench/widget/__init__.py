"""CallView benchmark: a live call's video drawn by the widget in real Chromium and JupyterLab.

Run ``python -m bench.widget`` (``--quick`` for a 2 s smoke run, ``--seconds N`` for any
window length). A notebook written by the bench runs two ``StreamCall`` clients in one kernel on the
embedded coordinator; bob's synthetic 640x480@30 camera stamps a frame counter into every
frame and alice's ``CallView`` shows bob's tile at 640x480 device pixels in JupyterLab in
headless Chromium. The page's draw hook reports every painted frame with the kernel's
arrival time, and the stamp is read back from the canvas. Figures: frames drawn per second
against the rate the kernel received, kernel-to-paint latency (also with the page's
animation frames throttled to 10 fps), and the kernel CPU each frame sent costs against the
same call with the view not shown. Results go to ``bench/out/widget.md``, ``widget.json``
and stdout.
"""
