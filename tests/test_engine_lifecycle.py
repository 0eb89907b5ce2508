"""A ``StreamCall``'s life: what close() leaves behind, futures, listeners on the engine's
threads, persistent settings, and logging in to a server with tokens."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from aiortc import RTCPeerConnection

from streamcall_widget import Call, CallEvent, CallState, IncomingCall, StreamCall
from streamcall_widget.coordinator import App, mint_token
from streamcall_widget.coordinator.embedded import DISCOVERY_NAME
from streamcall_widget.engine.stamp import user_stamp
from streamcall_widget.errors import (
    AuthenticationError,
    InputError,
    InvalidState,
    RequestTimeout,
    TokenSignatureInvalid,
    UnknownApiKey,
    UserMismatch,
)

from .engine_helpers import (
    RESULT,
    Clients,
    MediaProbe,
    Recorder,
    ServerThread,
    peers,
    ring_and_accept,
    session_of,
    wait_for,
)

APP = App(api_key="engine-key", api_secret="engine-secret-" + "e" * 32)
OTHER_APP = App(api_key="other-engine-key", api_secret="other-secret-" + "o" * 32)


@pytest.fixture
def server() -> Iterator[ServerThread]:
    """A coordinator serving APP and OTHER_APP from its own thread (a "remote" server)."""
    with ServerThread(APP, OTHER_APP) as running:
        yield running


def live_peer_connections() -> list[RTCPeerConnection]:
    """Every RTCPeerConnection object still reachable that is not closed."""
    gc.collect()
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, RTCPeerConnection) and o.connectionState != "closed"
    ]


# -- closing -----------------------------------------------------------------------------


def test_close_leaves_no_threads_peers_or_discovery_file(tmp_path: Path) -> None:
    """After a call with hooks and a processor, closing both clients stops every thread,
    closes every peer connection and removes the discovery file."""
    before = set(threading.enumerate())
    discovery = tmp_path / DISCOVERY_NAME
    with Clients(tmp_path) as made:
        alice, bob = made("alice"), made("bob")
        assert discovery.exists()
        outgoing, answered = ring_and_accept(alice, bob)
        probe = MediaProbe().attach(answered)
        outgoing.on_remote_video(lambda who, rgb: None)

        def invert(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
            return np.ascontiguousarray(255 - rgb)

        alice.sc.set_video_processor(invert).result(RESULT)
        bob.sc.set_audio_processor(lambda samples: samples).result(RESULT)
        wait_for(lambda: len(probe.stamps_of("alice")) > 5, "alice's frames at bob")
        pcs = [p.pc for p in (*peers(outgoing).values(), *peers(answered).values())]
        assert len(pcs) == 2
        assert any(t not in before for t in threading.enumerate())

    assert not discovery.exists()
    assert all(pc.connectionState == "closed" for pc in pcs)
    wait_for(
        lambda: set(threading.enumerate()) <= before,
        "every thread started by the clients to end",
    )
    assert live_peer_connections() == []


def test_closed_client_futures_raise_invalid_state(tmp_path: Path) -> None:
    """Every method of a closed client returns a future failing with InvalidState."""
    with Clients(tmp_path) as made:
        alice = made("alice")
    alice.sc.close()  # closing twice is a no-op
    for future in (
        alice.sc.get_call_status(),
        alice.sc.login("alice"),
        alice.sc.call(["bob"]),
        alice.sc.list_devices(),
    ):
        with pytest.raises(InvalidState, match="closed"):
            future.result(RESULT)


def test_close_in_a_call_hangs_up(clients: Clients) -> None:
    """Closing a client mid-call hangs up like end_call: a 1:1 call ends for the other side."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, _ = ring_and_accept(alice, bob)
    clients.made.remove(bob)
    bob.sc.close()
    alice.wait_event(CallState.LEFT, "alice")
    alice.flush()
    assert [t for t in alice.triples() if t[0] in ("ended", "left")] == [
        ("ended", "bob", "ended"),
        ("left", "alice", "ended"),
    ]
    assert outgoing.state is CallState.LEFT


def test_closing_the_coordinators_owner_first_hands_it_over(clients: Clients) -> None:
    """When the client running the embedded coordinator closes first, the other reconnects
    to a coordinator it starts itself, advertises it, and can still be called."""
    alice, bob = clients("alice"), clients("bob")
    discovery = clients.runtime_dir / DISCOVERY_NAME
    clients.made.remove(alice)
    alice.sc.close()

    def reconnected() -> bool:
        task = bob.sc._reconnect_task
        conn = bob.sc._conn
        return task is not None and task.done() and conn is not None and conn.connected

    wait_for(reconnected, "bob to reconnect")
    assert discovery.exists()
    carol = clients("carol")
    outgoing = carol.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    assert bob.errors.items == []


def test_logout_then_login_as_someone_else(clients: Clients) -> None:
    """After logout the same client can log in as another user and call."""
    alice, bob = clients("alice"), clients("bob")
    alice.sc.logout().result(RESULT)
    alice.sc.login("carol").result(RESULT)
    assert alice.sc.get_current_user().result(RESULT).user_id == "carol"
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    incoming = bob.wait_incoming(outgoing.cid)
    assert incoming.caller.user_id == "carol"


def test_dropped_connection_reconnects_and_resumes(clients: Clients) -> None:
    """When the coordinator loses bob's socket, bob reconnects and resumes his session:
    alice sees the same session (no leave, no join), his media never stops reaching her,
    and the old connection's HTTP session is closed."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    probe = MediaProbe().attach(outgoing)
    probe.wait_stamp("bob", user_stamp("bob"))
    old_session = session_of(outgoing, "bob")
    old_conn = bob.sc._conn
    assert old_conn is not None
    for client in (alice, bob):
        client.flush()
        client.events.clear()

    target = alice.sc._target
    assert target is not None
    assert target.embedded is not None
    coordinator = target.embedded.coordinator
    (connection,) = coordinator.control.connection_ids(target.api_key, "bob")
    alice.sc.engine.call_soon(coordinator._peers[connection].transport.abort)

    bob.wait_event(CallState.JOINED, "bob")
    seen = len(probe.stamps_of("bob"))
    wait_for(lambda: len(probe.stamps_of("bob")) > seen + 5, "bob's video after resuming")
    probe.wait_stamp("bob", user_stamp("bob"))
    assert answered.session_id == old_session == session_of(outgoing, "bob")
    assert [t[0] for t in bob.phases()] == ["reconnecting", "joined"]
    alice.flush()
    assert [t for t in alice.triples() if t[0] == "participant_counts"] == []
    assert outgoing.state is CallState.JOINED
    assert old_session in peers(outgoing)
    assert bob.sc._conn is not old_conn
    assert old_conn._session is not None
    assert old_conn._session.closed


# -- futures and threads -------------------------------------------------------------------


def test_waiting_too_long_raises_request_timeout_and_the_operation_goes_on(
    clients: Clients,
) -> None:
    """result(timeout) on something not done raises RequestTimeout; the future still
    resolves later."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    joined = outgoing.wait_until(CallState.JOINED)
    with pytest.raises(RequestTimeout, match="still running"):
        joined.result(0.0001)
    with pytest.raises(TimeoutError):
        joined.result(0.05)
    bob.wait_ringing(outgoing.cid)
    bob.sc.accept_call().result(RESULT)
    assert joined.result(RESULT) is outgoing


def test_wait_until_fails_when_the_call_is_left_first(clients: Clients) -> None:
    """wait_until(JOINED) on a ring that is declined raises InvalidState."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    joined = outgoing.wait_until(CallState.JOINED)
    bob.wait_ringing(outgoing.cid)
    bob.sc.reject_call().result(RESULT)
    with pytest.raises(InvalidState, match="left before becoming joined"):
        joined.result(RESULT)
    with pytest.raises(InvalidState):
        outgoing.leave().result(RESULT)
    with pytest.raises(InvalidState, match="already over"):
        outgoing.end().result(RESULT)


def test_listener_may_block_on_engine_results(clients: Clients) -> None:
    """A listener calling get_call_status().result() gets its answer (no deadlock)."""
    alice = clients("alice")
    answers = Recorder[CallEvent]()

    def ask(event: CallEvent) -> None:
        answers(alice.sc.get_call_status().result(5))

    alice.sc.add_listener("callEvent", ask)
    alice.sc.set_speaker("null").result(RESULT)
    status = answers.wait(lambda e: True, "the listener's own request")
    assert status.state is CallState.IDLE


def test_incoming_call_listener_may_accept_synchronously(clients: Clients) -> None:
    """An incomingCall listener can accept_call().result(): the call gets joined."""
    alice, bob = clients("alice"), clients("bob")
    accepted = Recorder[Call]()

    def pick_up(incoming: IncomingCall) -> None:
        accepted(bob.sc.accept_call(incoming.cid).result(RESULT))

    bob.sc.add_listener("incomingCall", pick_up)
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    answered = accepted.wait(lambda c: True, "bob's listener to accept")
    assert answered.cid == outgoing.cid
    assert answered.state is CallState.JOINED
    outgoing.wait_until(CallState.JOINED).result(RESULT)


def test_result_on_the_engine_thread_raises_instead_of_deadlocking(clients: Clients) -> None:
    """Blocking on a future from the engine's own thread raises InvalidState at once."""
    alice = clients("alice")
    outcome = Recorder[BaseException]()

    def block_on_engine() -> None:
        try:
            alice.sc.get_call_status().result(RESULT)
        except InvalidState as exc:
            outcome(exc)

    alice.sc.engine.call_soon(block_on_engine)
    error = outcome.wait(lambda e: True, "the engine-thread result() to fail")
    assert "await" in str(error)
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE


# -- persistent settings -------------------------------------------------------------------


def test_dynamic_api_key_persists_and_clears(tmp_path: Path) -> None:
    """A dynamic API key survives a new StreamCall on the same settings dir until cleared."""
    first = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    try:
        none = first.get_dynamic_api_key().result(RESULT)
        assert (none.api_key, none.has_dynamic_key) == (None, False)
        first.set_dynamic_api_key("  dyn-key ").result(RESULT)
        stored = first.get_dynamic_api_key().result(RESULT)
        assert (stored.api_key, stored.has_dynamic_key) == ("dyn-key", True)
    finally:
        first.close()
    second = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    try:
        again = second.get_dynamic_api_key().result(RESULT)
        assert (again.api_key, again.has_dynamic_key) == ("dyn-key", True)
        second.set_dynamic_api_key(None).result(RESULT)
    finally:
        second.close()
    third = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    try:
        cleared = third.get_dynamic_api_key().result(RESULT)
        assert (cleared.api_key, cleared.has_dynamic_key) == (None, False)
    finally:
        third.close()


# -- a server with tokens ------------------------------------------------------------------


def server_client(server: ServerThread, tmp_path: Path, api_key: str = APP.api_key) -> StreamCall:
    """A client of ``server`` (not the embedded coordinator)."""
    return StreamCall(
        url=server.url,
        api_key=api_key,
        runtime_dir=tmp_path,
        settings_dir=tmp_path,
        camera="synthetic-camera",
        microphone="synthetic-microphone",
    )


def test_server_login_needs_a_token(server: ServerThread, tmp_path: Path) -> None:
    """Against a server, login without token or provider is an AuthenticationError."""
    sc = server_client(server, tmp_path)
    try:
        with pytest.raises(AuthenticationError, match="token"):
            sc.login("alice").result(RESULT)
        assert sc.get_current_user().result(RESULT).is_logged_in is False
        token = mint_token(APP.api_secret, "alice")
        sc.login("alice", token=token).result(RESULT)
        assert sc.get_current_user().result(RESULT).is_logged_in is True
    finally:
        sc.close()
    assert not (tmp_path / DISCOVERY_NAME).exists()


def test_server_url_without_api_key_is_input_error(server: ServerThread, tmp_path: Path) -> None:
    """A url with no api_key is refused at login."""
    sc = StreamCall(url=server.url, runtime_dir=tmp_path, settings_dir=tmp_path)
    try:
        with pytest.raises(InputError, match="api_key"):
            sc.login("alice", token="x").result(RESULT)
    finally:
        sc.close()


def test_server_rejects_wrong_tokens(server: ServerThread, tmp_path: Path) -> None:
    """Another app's token, another user's token and an unknown key fail with their type."""
    sc = server_client(server, tmp_path)
    unknown = server_client(server, tmp_path, api_key="no-such-key")
    try:
        with pytest.raises(TokenSignatureInvalid):
            sc.login("alice", token=mint_token(OTHER_APP.api_secret, "alice")).result(RESULT)
        with pytest.raises(UserMismatch):
            sc.login("alice", token=mint_token(APP.api_secret, "bob")).result(RESULT)
        with pytest.raises(UnknownApiKey):
            unknown.login("alice", token=mint_token(APP.api_secret, "alice")).result(RESULT)
    finally:
        unknown.close()
        sc.close()


def test_token_provider_is_called_and_replaces_an_expired_token(
    server: ServerThread, tmp_path: Path
) -> None:
    """A provider giving an expired token first is asked again, and login succeeds with a
    short-lived token."""
    calls = Recorder[str]()

    def provider() -> str:
        calls("called")
        if len(calls.items) == 1:
            return mint_token(APP.api_secret, "alice", ttl=10, now=time.time() - 60)
        return mint_token(APP.api_secret, "alice", ttl=60)

    sc = server_client(server, tmp_path)
    try:
        sc.login("alice", token_provider=provider).result(RESULT)
        assert len(calls.items) == 2
        user = sc.get_current_user().result(RESULT)
        assert (user.user_id, user.is_logged_in) == ("alice", True)
    finally:
        sc.close()


def test_async_token_provider(server: ServerThread, tmp_path: Path) -> None:
    """A coroutine token provider is awaited."""
    calls = Recorder[str]()

    async def provider() -> str:
        calls("called")
        return mint_token(APP.api_secret, "alice", ttl=60)

    sc = server_client(server, tmp_path)
    try:
        sc.login("alice", token_provider=provider).result(RESULT)
        assert calls.items == ["called"]
    finally:
        sc.close()


def token_provider(user_id: str) -> Callable[[], str]:
    """A provider minting a fresh one-minute token for ``user_id`` on each call."""
    return lambda: mint_token(APP.api_secret, user_id, ttl=60)


def test_two_server_clients_call_each_other(server: ServerThread, tmp_path: Path) -> None:
    """Two users of a server, logged in with providers, ring, accept and get media."""
    alice, bob = server_client(server, tmp_path), server_client(server, tmp_path)
    try:
        for sc, user in ((alice, "alice"), (bob, "bob")):
            sc.login(user, token_provider=token_provider(user)).result(RESULT)
        ringing = Recorder[IncomingCall]()
        bob.add_listener("incomingCall", ringing)
        outgoing = alice.call(["bob"]).result(RESULT)
        ringing.wait(lambda i: i.cid == outgoing.cid, "bob to be rung")
        answered = bob.accept_call().result(RESULT)
        outgoing.wait_until(CallState.JOINED).result(RESULT)
        MediaProbe().attach(answered).wait_stamp("alice", user_stamp("alice"))
    finally:
        bob.close()
        alice.close()


def test_dynamic_api_key_is_used_at_the_next_login(server: ServerThread, tmp_path: Path) -> None:
    """A dynamic key set before login overrides the configured one, also in a new client;
    cleared, the configured key is used again."""
    sc = server_client(server, tmp_path, api_key="configured-but-wrong")
    try:
        sc.set_dynamic_api_key(APP.api_key).result(RESULT)
        sc.login("alice", token=mint_token(APP.api_secret, "alice")).result(RESULT)
    finally:
        sc.close()
    again = server_client(server, tmp_path, api_key="configured-but-wrong")
    try:
        again.login("alice", token=mint_token(APP.api_secret, "alice")).result(RESULT)
        again.logout().result(RESULT)
        again.set_dynamic_api_key(None).result(RESULT)
        with pytest.raises(UnknownApiKey):
            again.login("alice", token=mint_token(APP.api_secret, "alice")).result(RESULT)
    finally:
        again.close()


def test_dynamic_api_key_set_while_logged_in_applies_after_logout(
    server: ServerThread, tmp_path: Path
) -> None:
    """Setting the key while logged in takes effect at the next login (after logout)."""
    sc = server_client(server, tmp_path)
    try:
        sc.login("alice", token=mint_token(APP.api_secret, "alice")).result(RESULT)
        sc.set_dynamic_api_key(OTHER_APP.api_key).result(RESULT)
        sc.logout().result(RESULT)
        sc.login("alice", token=mint_token(OTHER_APP.api_secret, "alice")).result(RESULT)
        assert sc.get_current_user().result(RESULT).is_logged_in is True
    finally:
        sc.close()
