"""The sans-I/O core shared by the coordinator and the engine.

No asyncio, aiortc, av or network code lives here: wire messages (:mod:`.requests`,
:mod:`.events`, :mod:`.replies`, :mod:`.models`, parsed and serialised in :mod:`.frames`),
call types and capabilities (:mod:`.call_types`), the ring state machine driven by a clock value
passed in (:mod:`.ringing`), one call's phase as the local user lives it (:mod:`.lifecycle`)
and that phase in SignalWire's words (:mod:`.signalwire`).
"""

from .frames import PROTOCOL_VERSION, encode, parse_request, parse_server_frame

__all__ = ["PROTOCOL_VERSION", "encode", "parse_request", "parse_server_frame"]
