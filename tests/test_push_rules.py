"""Push registrations and ring notices in CallControl alone (sans-I/O): exact notices,
exact refusals, no server and no event loop; and the pure pieces they use (provider
parsing, the signature, the client's config)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator

import msgspec
import pytest

from streamcall_widget.coordinator.control import CallControl
from streamcall_widget.coordinator.ids import CountingIds
from streamcall_widget.coordinator.push import (
    PushSender,
    PushStats,
    check_providers,
    parse_provider,
    parse_providers,
)
from streamcall_widget.coordinator.store import (
    DeletePushRegistration,
    MemoryStore,
    StoredPushRegistration,
)
from streamcall_widget.engine.push import PushNotificationsConfig, checked_push_config
from streamcall_widget.errors import DoesNotExist, InvalidArguments
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.events import CallMissed
from streamcall_widget.protocol.models import MemberInput, UserInput, iso
from streamcall_widget.protocol.push import (
    AnsweredNotice,
    MissedNotice,
    MissedReason,
    NoticeKind,
    NoticeUser,
    RingNotice,
    signature,
    verify,
)
from streamcall_widget.protocol.replies import PushRegistration

APP = "app"
T0 = 1_790_000_000.0


def control(providers: frozenset[str] = frozenset({"fcm", "voip"})) -> CallControl:
    return CallControl(MemoryStore(), now=T0, ids=CountingIds(), push_providers=providers)


def connect(ctl: CallControl, user_id: str) -> str:
    connection_id = ctl.new_id()
    user = UserInput(id=user_id, name=user_id.title())
    ctl.connect(APP, connection_id, user, role="user", call_cids=None, now=T0)
    return connection_id


def registered_offline(ctl: CallControl, user_id: str, **names: str) -> None:
    """``user_id`` registers for push, then closes their only connection."""
    conn = connect(ctl, user_id)
    ctl.handle(conn, rq.RegisterPush(id="r", **names), T0)
    ctl.disconnect(conn, T0)


def ring(ctl: CallControl, caller: str, call_id: str, callees: list[str]) -> str:
    members = [MemberInput(user_id=u) for u in callees]
    request = rq.GetOrCreateCall(
        id="c", call_type="default", call_id=call_id, members=members, ring=True, video=False
    )
    ctl.handle(caller, request, T0)
    return f"default:{call_id}"


def ring_notice(user_id: str, provider: str, kind: NoticeKind, cid: str) -> RingNotice:
    return RingNotice(
        provider=provider,
        kind=kind,
        app=APP,
        cid=cid,
        call_type="default",
        call_id=cid.split(":")[1],
        user_id=user_id,
        caller=NoticeUser(id="alice", name="Alice", image=None),
        video=False,
        created_at=iso(T0),
        expires_at=iso(T0 + 30),
    )


def missed(
    user_id: str,
    provider: str,
    cid: str,
    reason: MissedReason,
    *,
    at: float,
    kind: NoticeKind = NoticeKind.PUSH,
) -> MissedNotice:
    fields = msgspec.structs.asdict(ring_notice(user_id, provider, kind, cid))
    return MissedNotice(**{**fields, "created_at": iso(at)}, reason=reason)


def test_register_replaces_and_unregister_clears() -> None:
    """push.register answers the registration (a second one replaces it, the same one
    changes nothing); push.unregister answers it empty."""
    ctl = control()
    bob = connect(ctl, "bob")
    both = rq.RegisterPush(id="1", push_provider_name="fcm", voip_provider_name="voip")
    expected = PushRegistration(push_provider_name="fcm", voip_provider_name="voip")
    assert ctl.handle(bob, both, T0) == expected
    assert ctl.handle(bob, both, T0) == expected
    only_push = rq.RegisterPush(id="2", push_provider_name="fcm")
    assert ctl.handle(bob, only_push, T0) == PushRegistration(push_provider_name="fcm")
    assert ctl.handle(bob, rq.UnregisterPush(id="3"), T0) == PushRegistration()
    assert ctl.take_notices() == []


def test_register_refuses_unknown_providers_and_empty_registrations() -> None:
    """An unknown name is DOES_NOT_EXIST listing the providers (or saying there are none);
    no name at all is INVALID_ARGUMENTS; a refusal changes nothing."""
    ctl = control()
    bob = connect(ctl, "bob")
    ctl.handle(bob, rq.RegisterPush(id="1", push_provider_name="fcm"), T0)
    with pytest.raises(DoesNotExist) as unknown:
        ctl.handle(
            bob, rq.RegisterPush(id="2", push_provider_name="fcm", voip_provider_name="apns"), T0
        )
    assert unknown.value.reason == "no push provider 'apns' on this coordinator; it has: fcm, voip"
    with pytest.raises(InvalidArguments, match="needs push_provider_name, voip_provider_name"):
        ctl.handle(bob, rq.RegisterPush(id="3"), T0)
    ctl.disconnect(bob, T0)
    cid = ring(ctl, connect(ctl, "alice"), "c1", ["bob"])
    assert ctl.take_notices() == [ring_notice("bob", "fcm", NoticeKind.PUSH, cid)]
    none = control(frozenset())
    dave = connect(none, "dave")
    with pytest.raises(DoesNotExist, match=r"it has none .*--push-provider NAME=URL"):
        none.handle(dave, rq.RegisterPush(id="5", voip_provider_name="voip"), T0)


def test_offline_registered_callee_rings_through_voip_then_misses_on_timeout() -> None:
    """An offline callee registered for push stays ringing (no ``offline`` miss): a ring
    notice to their VoIP provider, then at the timeout a missed notice to their push one;
    the online callee gets none, and an offline unregistered one misses it at once."""
    ctl = control()
    registered_offline(ctl, "bob", push_provider_name="fcm", voip_provider_name="voip")
    connect(ctl, "carol")
    alice = connect(ctl, "alice")
    ctl.take_deliveries()
    cid = ring(ctl, alice, "c1", ["bob", "carol", "dave"])
    missed_at_once = [
        (d.event.user.id, d.event.reason)
        for d in ctl.take_deliveries()
        if d.user_id == "alice" and isinstance(d.event, CallMissed)
    ]
    assert missed_at_once == [("dave", "offline")]
    assert ctl.take_notices() == [ring_notice("bob", "voip", NoticeKind.VOIP, cid)]
    ctl.tick(T0 + 30)
    assert ctl.take_notices() == [missed("bob", "fcm", cid, MissedReason.TIMEOUT, at=T0 + 30)]


def test_ring_ending_otherwise_tells_each_pushed_callee_once() -> None:
    """Another callee accepting is ``accepted_by_other``; the caller cancelling or ending
    the call is ``cancel``; a VoIP-only registration gets it on VoIP; a pushed callee who
    logs in and accepts gets an answered notice (his phone stops ringing), one who
    unregistered meanwhile gets none, and one busy in another call (a dropped kernel's
    session) is not pushed at all."""
    ctl = control()
    registered_offline(ctl, "bob", push_provider_name="fcm")
    registered_offline(ctl, "vic", voip_provider_name="voip")
    carol = connect(ctl, "carol")
    alice = connect(ctl, "alice")

    c1 = ring(ctl, alice, "c1", ["bob", "carol"])
    assert ctl.take_notices() == [ring_notice("bob", "fcm", NoticeKind.PUSH, c1)]
    ctl.handle(carol, rq.AcceptCall(id="a", cid=c1), T0 + 1)
    assert ctl.take_notices() == [
        missed("bob", "fcm", c1, MissedReason.ACCEPTED_BY_OTHER, at=T0 + 1)
    ]

    c2 = ring(ctl, alice, "c2", ["bob", "vic"])
    ctl.take_notices()
    ctl.handle(alice, rq.RejectCall(id="x", cid=c2), T0 + 2)
    assert ctl.take_notices() == [
        missed("bob", "fcm", c2, MissedReason.CANCEL, at=T0 + 2),
        missed("vic", "voip", c2, MissedReason.CANCEL, at=T0 + 2, kind=NoticeKind.VOIP),
    ]

    c3 = ring(ctl, alice, "c3", ["bob"])
    ctl.take_notices()
    ctl.handle(alice, rq.EndCall(id="e", cid=c3), T0 + 3)
    assert ctl.take_notices() == [missed("bob", "fcm", c3, MissedReason.CANCEL, at=T0 + 3)]

    c4 = ring(ctl, alice, "c4", ["bob"])
    ctl.take_notices()
    bob = connect(ctl, "bob")  # rung on this new connection (late arrival), accepts
    ctl.handle(bob, rq.AcceptCall(id="b", cid=c4), T0 + 4)
    fields = msgspec.structs.asdict(ring_notice("bob", "fcm", NoticeKind.PUSH, c4))
    assert ctl.take_notices() == [AnsweredNotice(**{**fields, "created_at": iso(T0 + 4)})]

    ring(ctl, alice, "c5", ["vic"])
    ctl.take_notices()
    vic = connect(ctl, "vic")
    ctl.handle(vic, rq.UnregisterPush(id="u"), T0 + 5)
    ctl.disconnect(vic, T0 + 5)
    ctl.tick(T0 + 30)
    assert ctl.take_notices() == []

    ctl.handle(bob, rq.JoinCall(id="j", cid=c4), T0 + 6)
    ctl.detach(bob, T0 + 6)  # his kernel dropped mid-call: his session waits, he is busy
    ctl.take_deliveries()
    ring(ctl, alice, "c6", ["bob"])
    busy = [d.event for d in ctl.take_deliveries() if isinstance(d.event, CallMissed)]
    assert {(e.user.id, e.reason) for e in busy} == {("bob", "busy")}
    assert ctl.take_notices() == []


class _Registrations(MemoryStore):
    """A store holding push registrations only."""

    def __init__(self, registrations: list[StoredPushRegistration]) -> None:
        self.registrations = registrations

    def load_push_registrations(self) -> Iterator[StoredPushRegistration]:
        return iter(self.registrations)


def test_restore_keeps_the_providers_still_configured() -> None:
    """Stored registrations come back without the providers no longer configured; one left
    with none is deleted from the store, and its user is missed ``offline``."""
    stored = [
        StoredPushRegistration(
            app=APP, user_id="bob", push_provider_name="fcm", voip_provider_name="apns"
        ),
        StoredPushRegistration(app=APP, user_id="carol", voip_provider_name="apns"),
    ]
    ctl = CallControl(
        _Registrations(stored), now=T0, ids=CountingIds(), push_providers=frozenset({"fcm"})
    )
    assert ctl.take_writes() == [DeletePushRegistration(APP, "carol")]
    alice = connect(ctl, "alice")
    ctl.take_deliveries()
    cid = ring(ctl, alice, "c1", ["bob", "carol"])
    assert ctl.take_notices() == [ring_notice("bob", "fcm", NoticeKind.PUSH, cid)]
    missed_now = [d.event for d in ctl.take_deliveries() if isinstance(d.event, CallMissed)]
    assert {(e.user.id, e.reason) for e in missed_now} == {("carol", "offline")}


def test_signature_is_hmac_of_timestamp_and_body_and_verify_checks_freshness() -> None:
    """The signature is HMAC-SHA256(secret, "<timestamp>.<body>"); verify refuses another
    secret, another body, a stale timestamp and a malformed one."""
    body = b'{"type":"call.ring"}'
    signed = signature("s3cret", "1790000000", body)
    mac = hmac.new(b"s3cret", b"1790000000." + body, hashlib.sha256)
    assert signed == "sha256=" + mac.hexdigest()
    assert verify("s3cret", "1790000000", body, signed, now=T0 + 299)
    assert not verify("other", "1790000000", body, signed, now=T0)
    assert not verify("s3cret", "1790000000", body + b" ", signed, now=T0)
    assert not verify("s3cret", "1790000000", body, signed, now=T0 + 301)
    assert not verify("s3cret", "soon", body, signed, now=T0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fcm", "expected NAME=URL"),
        ("=https://relay.example/push", "name '' is not valid"),
        ("f c m=https://relay.example/push", "name 'f c m' is not valid"),
        ("fcm=ftp://relay.example/push", "is not an http:// or https:// URL"),
        ("fcm=https://", "is not an http:// or https:// URL with a host"),
    ],
)
def test_bad_provider_is_refused_naming_the_form(text: str, message: str) -> None:
    """A provider not written NAME=URL with an http(s) URL is refused with the form."""
    with pytest.raises(InvalidArguments, match=message) as refused:
        parse_provider(text)
    assert "e.g. fcm=https://relay.example/push" in refused.value.reason


def test_providers_parse_from_a_list_and_a_name_twice_is_refused() -> None:
    """``a=URL,b=URL`` (the environment variable's form) gives both; a repeated name fails."""
    assert parse_providers(" fcm=https://r.example/a , ntfy=http://127.0.0.1:8080/b,") == {
        "fcm": "https://r.example/a",
        "ntfy": "http://127.0.0.1:8080/b",
    }
    assert parse_providers("") == {}
    with pytest.raises(InvalidArguments, match="'fcm' is given twice"):
        check_providers([("fcm", "https://a.example"), ("fcm", "https://b.example")])


async def test_a_full_queue_drops_notices_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Submitting never waits: past the queue's size notices are dropped, counted, and the
    burst is logged once."""
    sender = PushSender({"fcm": "https://r.example/a"}, {APP: "secret"}, queue_size=2)
    notice = ring_notice("bob", "fcm", NoticeKind.PUSH, "default:c1")
    with caplog.at_level(logging.WARNING, "streamcall_widget.coordinator.push"):
        sender.submit([notice] * 5)
    assert sender.stats == PushStats(dropped=3)
    assert [r.getMessage() for r in caplog.records] == [
        "push queue full (2 notices): dropping notices until it drains"
    ]


def test_push_config_needs_a_valid_name() -> None:
    """PushNotificationsConfig needs one name or two, each a provider name; login's
    push_config must be one."""
    assert PushNotificationsConfig(voip_provider_name="voip").push_provider_name is None
    with pytest.raises(InvalidArguments, match="needs push_provider_name, voip_provider_name"):
        PushNotificationsConfig()
    for bad in ("", "a b", 7, "x" * 65):
        with pytest.raises(InvalidArguments, match="push_provider_name must be None or a"):
            PushNotificationsConfig(push_provider_name=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArguments, match="a PushNotificationsConfig or None, not dict"):
        checked_push_config({"push_provider_name": "fcm"})
    assert checked_push_config(None) is None
