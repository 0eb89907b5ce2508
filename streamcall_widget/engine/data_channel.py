"""The data channel of one peer connection: ``send_data`` peer to peer.

Both sides of a mesh link create the same channel, ``negotiated`` out of band with the fixed
stream id :data:`CHANNEL_ID`, with their first description (the offerer before its first
offer, the answerer before its first answer): the offer carries one SCTP
(``application``) section and no in-band ``DATA_CHANNEL_OPEN`` round is needed; the channel
opens when the link's DTLS is up. It is reliable and ordered: what :meth:`PeerDataChannel.send`
accepted arrives, in order, unless the link itself dies. A channel that is not open (yet,
or any more) accepts nothing, so the caller sends through the coordinator instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc import RTCDataChannel, RTCPeerConnection

__all__ = ["CHANNEL_ID", "CHANNEL_LABEL", "DataArrived", "PeerDataChannel"]

logger = logging.getLogger(__name__)

CHANNEL_ID = 0
"""The SCTP stream id both sides agree on (``negotiated=True``)."""
CHANNEL_LABEL = "streamcall-data"

DataArrived = Callable[[bytes | str], None]
"""``arrived(data)``: one message from the remote side (engine loop)."""


class PeerDataChannel:
    """The negotiated data channel of one :class:`~aiortc.RTCPeerConnection`."""

    def __init__(self, pc: RTCPeerConnection, on_data: DataArrived) -> None:
        self.channel: RTCDataChannel = pc.createDataChannel(
            CHANNEL_LABEL, negotiated=True, id=CHANNEL_ID, ordered=True
        )
        self.channel.on("message", on_data)

    @property
    def open(self) -> bool:
        """Whether the channel carries data now."""
        return bool(self.channel.readyState == "open")

    def send(self, data: bytes | str) -> bool:
        """Queue ``data`` on the channel; False (nothing sent) when it is not open."""
        if not self.open:
            return False
        try:
            self.channel.send(data)
        except Exception as exc:  # closed between the check and the send
            logger.info("data channel %s refused a message: %r", CHANNEL_LABEL, exc)
            return False
        return True

    def close(self) -> None:
        """Close the channel (both sides then send through the coordinator)."""
        self.channel.close()
