"""The page link: how a call's media reaches a notebook view, beside the engine.

Today that is the comm pipe: :class:`~.media_pipe.MediaPipe` sends each remote tile's
newest frame as a JPEG (:mod:`.encoder`) and the mixed audio as PCM chunks (:mod:`.mixer`)
over the widget's custom messages, paced by :class:`~.flow.FlowControl`'s acks. A WebRTC
peer of the page will sit here beside it. The widgets own the views; this package owns
what travels to them, so ``widgets/`` keeps traits and wiring only.
"""
