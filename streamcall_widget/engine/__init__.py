"""The kernel side: the ``StreamCall`` client, its calls, peer connections and devices.

Everything here runs on one asyncio loop in a daemon thread (:mod:`.loop`); the public
objects are :class:`~.client.StreamCall` and :class:`~.call.Call`.
"""

from .call import Call
from .client import StreamCall
from .dtmf import DtmfEvent
from .participants import Participant
from .permissions import PermissionRequestEvent, PermissionsUpdatedEvent
from .push import PushNotificationsConfig
from .recording import RecordingEvent, RecordingResult
from .rtc_config import IceServer

__all__ = [
    "Call",
    "DtmfEvent",
    "IceServer",
    "Participant",
    "PermissionRequestEvent",
    "PermissionsUpdatedEvent",
    "PushNotificationsConfig",
    "RecordingEvent",
    "RecordingResult",
    "StreamCall",
]
