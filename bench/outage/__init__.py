"""The call through a coordinator outage: how long remote video stops, beside the longest
gap of the same call with the coordinator up.

Run ``python -m bench.outage`` (``--quick`` for a smoke run). Two ``StreamCall`` clients in
this process call each other through a real ``streamcall serve`` subprocess with a SQLite
database. Every remote video frame's arrival is timed on the engine loop (a frame tap), and
three windows of the same length are compared:

1. **baseline**: the coordinator up, nothing happening;
2. **outage**: ``kill -9`` of the server process, restarted on the same port and database
   after the window's length (issue 12: 5 s), until both calls are back;
3. **socket drop**: one client's WebSocket breaks while the server stays up.

The figure is the longest gap between two frames from the same sender in each window (the
issue's target: no gap over 100 ms), with whether both calls came back in the sessions
they had (resumed, not rejoined).
"""
