"""Wire frames: request parsing and its errors, server frame round trips, call types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streamcall_widget.errors import InputError, UnknownMessageType
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.call_types import (
    CALL_TYPES,
    Capability,
    RingSettings,
    Role,
    call_type,
)
from streamcall_widget.protocol.frames import (
    ErrorFrame,
    EventFrame,
    ParseFailure,
    ResultFrame,
    encode,
    error_frame,
    parse_request,
    parse_server_frame,
)
from streamcall_widget.protocol.models import RejectReason, TrackType


def frame(**fields: Any) -> str:
    """A client frame as JSON text."""
    return json.dumps(fields)


def failure(data: str | bytes) -> ParseFailure:
    """Parse a frame that must fail."""
    result = parse_request(data)
    assert isinstance(result, ParseFailure), f"{data!r} parsed as {result!r}"
    return result


def test_parse_good_requests() -> None:
    """Well-formed frames become their typed requests with defaults filled in."""
    assert parse_request(frame(type="ping", id="r1")) == rq.Ping(id="r1")
    reject = parse_request(frame(type="call.reject", id="r2", cid="default:c1"))
    assert reject == rq.RejectCall(id="r2", cid="default:c1", reason=RejectReason.DECLINE)
    create = parse_request(
        frame(
            type="call.get_or_create",
            id="r3",
            call_type="default",
            call_id="c1",
            members=[{"user_id": "bob"}],
            ring=True,
        ).encode()
    )
    assert isinstance(create, rq.GetOrCreateCall)
    assert create.members[0].user_id == "bob"
    assert create.ring is True
    assert create.settings_override is None


def test_missing_field_names_field_and_recovers_id() -> None:
    """A missing required field is an InputError naming the field and type; the id is kept."""
    bad = failure(frame(type="call.get", id="x1"))
    assert type(bad.error) is InputError
    assert "`cid`" in bad.error.reason
    assert "call.get" in bad.error.reason
    assert bad.request_id == "x1"


def test_wrong_field_type_names_path() -> None:
    """A field of the wrong JSON type is an InputError naming its path and expected type."""
    bad = failure(frame(type="call.get", id="x2", cid=5))
    assert type(bad.error) is InputError
    assert "$.cid" in bad.error.reason
    assert "str" in bad.error.reason
    assert bad.request_id == "x2"


def test_unknown_field_is_named() -> None:
    """An extra field is refused, naming it."""
    bad = failure(frame(type="call.get", id="x3", cid="default:c1", colour="red"))
    assert "colour" in bad.error.reason
    assert bad.error.reason.endswith("; allowed fields: cid, id")
    assert bad.request_id == "x3"


def test_unknown_field_in_a_list_item_names_the_item_fields() -> None:
    """An unknown field inside a list of objects is answered with that object's fields."""
    sort = [{"field": "created_at", "direction": -1, "order": 1}]
    bad = failure(frame(type="calls.query", id="x4", sort=sort))
    assert "unknown field `order` - at `$.sort[0]`" in bad.error.reason
    assert bad.error.reason.endswith("; allowed fields: field, direction")


def test_bad_cid_pattern_is_input_error() -> None:
    """A cid that is not ``type:id`` is an InputError naming the cid field."""
    bad = failure(frame(type="call.get", id="x4", cid="no colon here"))
    assert "$.cid" in bad.error.reason


def test_unknown_type_lists_allowed() -> None:
    """An unknown type is UnknownMessageType naming it and listing the allowed types."""
    bad = failure(frame(type="call.explode", id="x5"))
    assert isinstance(bad.error, UnknownMessageType)
    assert "'call.explode'" in bad.error.reason
    assert "call.get_or_create" in bad.error.reason
    assert "ping" in bad.error.reason
    assert bad.request_id == "x5"


def test_missing_type_is_named() -> None:
    """A frame without ``type`` says so and still echoes its id."""
    bad = failure(frame(id="x6"))
    assert type(bad.error) is InputError
    assert "'type'" in bad.error.reason
    assert bad.request_id == "x6"


def test_not_json_not_object_not_utf8() -> None:
    """Bad JSON, a non-object and bad UTF-8 are InputErrors that say which, with no id."""
    not_json = failure('{"type": "ping", "id": ')
    assert type(not_json.error) is InputError
    assert "not valid JSON" in not_json.error.reason
    assert not_json.request_id is None
    array = failure("[1, 2]")
    assert "JSON object" in array.error.reason
    assert array.request_id is None
    binary = failure(b"\xff\xfe{}")
    assert "UTF-8" in binary.error.reason
    assert binary.request_id is None


def test_unusable_id_is_not_echoed() -> None:
    """An id that is not a 1..64 character string is not echoed back."""
    too_long = failure(frame(type="call.get", id="i" * 65, cid="default:c1"))
    assert too_long.request_id is None
    assert "$.id" in too_long.error.reason
    numeric = failure(frame(type="call.get", id=7, cid="default:c1"))
    assert numeric.request_id is None


def _create_with_ring(**ring: int) -> rq.Request | ParseFailure:
    return parse_request(
        frame(
            type="call.get_or_create",
            id="rs",
            call_type="default",
            call_id="c1",
            settings_override={"ring": ring},
        )
    )


@pytest.mark.parametrize("value", [5_000, 30_000, 180_000])
def test_ring_settings_in_range_accepted(value: int) -> None:
    """Ring timeouts from 5000 to 180000 ms inclusive parse."""
    parsed = _create_with_ring(incoming_call_timeout_ms=value)
    assert isinstance(parsed, rq.GetOrCreateCall)
    assert parsed.settings_override is not None
    assert parsed.settings_override.ring == RingSettings(incoming_call_timeout_ms=value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("incoming_call_timeout_ms", 4_999),
        ("auto_cancel_timeout_ms", 180_001),
        ("missed_call_timeout_ms", 0),
        ("auto_cancel_timeout_ms", -5_000),
    ],
)
def test_ring_settings_out_of_range_refused(field: str, value: int) -> None:
    """An out-of-range ring timeout is an InputError naming the field, value and range."""
    bad = _create_with_ring(**{field: value})
    assert isinstance(bad, ParseFailure)
    assert type(bad.error) is InputError
    assert f"{field}={value}" in bad.error.reason
    assert "5000..180000" in bad.error.reason
    assert "$.settings_override.ring" in bad.error.reason
    assert bad.request_id == "rs"


def test_ring_settings_direct_construction_checks_range() -> None:
    """Building RingSettings in Python checks the same range."""
    with pytest.raises(ValueError, match="missed_call_timeout_ms=4999"):
        RingSettings(missed_call_timeout_ms=4_999)


def test_server_frames_round_trip() -> None:
    """Result, error and event frames survive encode then parse_server_frame unchanged."""
    result = ResultFrame(id="r1", data={"server_time": "2026-01-01T00:00:00.000Z"})
    assert parse_server_frame(encode(result)) == result
    error = error_frame("r2", InputError("bad thing"))
    assert error == ErrorFrame(id="r2", code=4, name="INPUT_ERROR", message="bad thing")
    assert parse_server_frame(encode(error)) == error
    anonymous = error_frame(None, UnknownMessageType("what"))
    assert parse_server_frame(encode(anonymous)) == anonymous
    event = EventFrame(
        seq=3,
        event=ev.TrackUnpublished(
            cid="default:c1",
            created_at="2026-01-01T00:00:00.000Z",
            session_id="s1",
            user_id="bob",
            track_type=TrackType.AUDIO,
            reason="permission_revoked",
        ),
    )
    parsed = parse_server_frame(encode(event))
    assert isinstance(parsed, EventFrame)
    assert isinstance(parsed.event, ev.TrackUnpublished)
    assert parsed == event
    body = json.loads(encode(event))
    assert body["type"] == "event"
    assert body["event"]["type"] == "call.track_unpublished"


def test_request_round_trip() -> None:
    """A request encoded by encode() parses back to an equal request."""
    request = rq.UpdatePermissions(
        id="r9", cid="audio_room:r", user_id="bob", grant=[Capability.SEND_AUDIO]
    )
    assert parse_request(encode(request)) == request


def test_parse_server_frame_garbage() -> None:
    """A server frame that is not one is an InputError."""
    with pytest.raises(InputError, match="invalid frame"):
        parse_server_frame(b'{"type": "result"}')
    with pytest.raises(InputError, match="invalid frame"):
        parse_server_frame(b"not json")


def test_unknown_call_type_lists_allowed() -> None:
    """call_type of an unknown name is an InputError naming it and every allowed type."""
    with pytest.raises(InputError) as info:
        call_type("nope")
    message = info.value.reason
    assert "'nope'" in message
    for name in ("audio", "audio_room", "default", "development", "livestream"):
        assert name in message
    assert set(CALL_TYPES) == {"audio", "audio_room", "default", "development", "livestream"}


def test_development_grants_everything_default_user_cannot_join() -> None:
    """``development`` grants every capability to every role; ``default``'s user cannot join."""
    development = call_type("development")
    for role in Role:
        assert development.capabilities(role) == frozenset(Capability)
    default = call_type("default")
    assert Capability.JOIN_CALL not in default.capabilities(Role.USER)
    assert Capability.READ_CALL not in default.capabilities(Role.USER)
    assert Capability.JOIN_CALL in default.capabilities(Role.CALL_MEMBER)
    assert default.capabilities(Role.HOST) == frozenset(Capability)
