"""Media benchmark: a 1:1 call through StreamCall against the same call in raw aiortc.

Run ``python -m bench.media`` (``--quick`` for a smoke run). The same synthetic source
(640x480 at 30 fps plus a 440 Hz tone, both directions) feeds two raw ``RTCPeerConnection``s
wired by hand and two ``StreamCall`` clients; each variant runs in its own subprocess pinned
to one CPU, so CPU accounting and the process-wide H264 encoder hook never mix. Figures:
time to the first remote frame, CPU and received frame rate of a VP8 call, CPU of an H264
call with :class:`~streamcall_widget.engine.codecs.FastH264Encoder` against aiortc's default
encoder. Results go to ``bench/out/media.md``, ``media.json`` and stdout; ``python -m bench``
runs it with the other benches.
"""
