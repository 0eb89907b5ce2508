"""Recording a call: what it costs the process, and whether the live call loses anything.

Run ``python -m bench.recording`` (``--quick`` for a smoke run). Three ``StreamCall``
clients in this process (synthetic cameras and microphones, VP8, the embedded coordinator)
join one call; after a settling time two windows of the same length are measured, first
with nobody recording (the baseline), then while the host records the call
(``Call.start_recording``: the grid of cameras and the audio mixed, H.264 + AAC). Figures:
the process CPU while recording beside the CPU without, the live remote video frames per
second the three clients receive while recording beside without (issue 15's target: the
call loses no frame to the recording), and the grid frames per second written beside the
recorder's clock (frames the recorder dropped because it fell behind).
"""
