"""Coordinator benchmark: signaling relay throughput and ring fan-out latency.

Run ``python -m bench.coordinator`` (``--quick`` for a smoke run). Each figure is measured
side by side with a bare aiohttp WebSocket echo server in the same run, both servers in their
own subprocess pinned to their own core, so the ratio says what the coordinator's rules cost
on top of the transport. Results go to ``bench/out/coordinator.md``, ``coordinator.json``
and stdout; ``python -m bench`` runs it with the other benches.
"""
