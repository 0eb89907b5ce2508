"""The sans-I/O core shared by the coordinator and the engine.

No asyncio, aiortc, av or network code lives here: wire messages (:mod:`.requests`,
:mod:`.events`, :mod:`.replies`, :mod:`.models`, parsed and serialised in :mod:`.frames`),
call types and capabilities (:mod:`.call_types`) and the ring state machine driven by a clock value
passed in (:mod:`.ringing`).
"""

from .frames import PROTOCOL_VERSION, encode, parse_request, parse_server_frame

__all__ = ["PROTOCOL_VERSION", "encode", "parse_request", "parse_server_frame"]
