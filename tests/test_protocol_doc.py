"""docs/protocol.md and docs/schema.json cannot silently fall behind the protocol code."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

from streamcall_widget import errors
from streamcall_widget.protocol.call_types import CALL_TYPES, Capability
from streamcall_widget.protocol.events import EVENT_TYPES, AnyEvent
from streamcall_widget.protocol.frames import ServerFrame
from streamcall_widget.protocol.replies import REPLIES, REPLY_TYPES
from streamcall_widget.protocol.requests import REQUEST_TYPES, AnyRequest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PROTOCOL_MD = DOCS / "protocol.md"


def _doc() -> str:
    return PROTOCOL_MD.read_text(encoding="utf-8")


def _section(text: str, title: str) -> str:
    """The body of the ``## `` section whose heading contains ``title``."""
    match = re.search(rf"^## [^\n]*{re.escape(title)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"docs/protocol.md has no '## ... {title}' section"
    return match.group(1)


def _subsection(section: str, tag: str) -> str | None:
    """The body under the ``### `` heading naming `` `tag` ``, up to the next heading."""
    match = re.search(
        rf"^### [^\n]*`{re.escape(tag)}`[^\n]*\n(.*?)(?=^##|\Z)", section, re.M | re.S
    )
    return match.group(1) if match is not None else None


def _tag(cls: type[msgspec.Struct]) -> str:
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def _missing_fields(cls: type[msgspec.Struct], body: str) -> list[str]:
    return [
        f.name
        for f in msgspec.structs.fields(cls)
        if f"`{f.name}`" not in body and f'"{f.name}"' not in body
    ]


def _load_gen_schema() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schema", DOCS / "gen_schema.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cls", REQUEST_TYPES, ids=_tag)
def test_every_request_is_documented_with_its_fields(cls: type[msgspec.Struct]) -> None:
    """Each request tag has a heading in the Requests section that names all of its fields."""
    body = _subsection(_section(_doc(), "Requests"), _tag(cls))
    assert body is not None, f"no '### `{_tag(cls)}`' heading under '## 5. Requests'"
    assert _missing_fields(cls, body) == [], f"{_tag(cls)}: fields not mentioned"


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=_tag)
def test_every_event_is_documented_with_its_fields(cls: type[msgspec.Struct]) -> None:
    """Each event tag has a heading in the Events section that names all of its fields."""
    body = _subsection(_section(_doc(), "Events"), _tag(cls))
    assert body is not None, f"no '### `{_tag(cls)}`' heading under '## 6. Events'"
    assert _missing_fields(cls, body) == [], f"{_tag(cls)}: fields not mentioned"


@pytest.mark.parametrize("cls", REPLY_TYPES, ids=lambda cls: cls.__name__)
def test_every_reply_is_documented_with_its_fields(cls: type[msgspec.Struct]) -> None:
    """Each reply shape has a row in the Replies table naming all of its fields, and is in
    docs/schema.json."""
    rows = [
        line
        for line in _section(_doc(), "Data shapes").splitlines()
        if line.startswith(f"| `{cls.__name__}` |")
    ]
    assert len(rows) == 1, f"no row for {cls.__name__} in the Replies table"
    assert [f.name for f in msgspec.structs.fields(cls) if f"`{f.name}`" not in rows[0]] == []
    committed = json.loads((DOCS / "schema.json").read_text(encoding="utf-8"))
    assert cls.__name__ in committed["$defs"]


def test_the_replies_table_names_every_request_answered_with_null() -> None:
    """Requests whose result data is null are listed as such."""
    (row,) = [
        line
        for line in _section(_doc(), "Data shapes").splitlines()
        if line.startswith("| `null` |")
    ]
    quiet = [_tag(cls) for cls, reply in REPLIES.items() if reply is None]
    assert [tag for tag in quiet if f"`{tag}`" not in row] == []


def test_every_error_is_in_the_error_table() -> None:
    """Every exception class in errors.py appears in the error table with its name and code."""
    rows = [line for line in _section(_doc(), "Errors").splitlines() if line.startswith("|")]
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.StreamCallError)
        and cls is not errors.StreamCallError
    ]
    assert len(classes) >= 16
    missing = [
        f"{cls.name} ({cls.code})"
        for cls in classes
        if not any(f"`{cls.name}`" in row and f"| {cls.code} |" in row for row in rows)
    ]
    assert missing == []


def test_every_capability_and_call_type_is_documented() -> None:
    """Every Capability value and every call type name appears in the call types section."""
    section = _section(_doc(), "Call types")
    missing = [f"`{c}`" for c in Capability if f"`{c}`" not in section]
    missing += [f"`{name}`" for name in CALL_TYPES if f"`{name}`" not in section]
    assert missing == []


def test_schema_components_can_be_generated() -> None:
    """msgspec derives a JSON schema for every request, event and server frame."""
    (request, event, frame), components = msgspec.json.schema_components(
        (AnyRequest, AnyEvent, ServerFrame)
    )
    for cls in (*REQUEST_TYPES, *EVENT_TYPES):
        assert cls.__name__ in components
    assert request["discriminator"]["propertyName"] == "type"
    assert event["discriminator"]["propertyName"] == "type"
    assert frame["discriminator"]["propertyName"] == "type"


def test_committed_schema_means_what_the_code_generates() -> None:
    """docs/schema.json says what docs/gen_schema.py derives from the code now, compared as
    parsed JSON with prose whitespace normalised: layout and a library's docstring dedent
    do not matter, a message, field, type or word that changed does."""
    gen_schema = _load_gen_schema()
    expected = gen_schema.build_schema()
    committed = json.loads((DOCS / "schema.json").read_text(encoding="utf-8"))
    assert gen_schema._normalise_text(committed) == expected, (
        "docs/schema.json is stale: run .venv/bin/python docs/gen_schema.py"
    )


def test_schema_prose_ignores_docstring_indentation() -> None:
    """The same docstring dedented two ways (msgspec 0.22 against 0.23) gives one description."""
    normalise = _load_gen_schema().normalise_prose
    kept_indent = "A session left; ``reason`` is ``left``,\n    ``disconnected``.\n\n    More."
    dedented = "A session left; ``reason`` is ``left``,\n``disconnected``.\n\nMore."
    assert normalise(kept_indent) == normalise(dedented)
    one_line = "A session left; ``reason`` is ``left``, ``disconnected``."
    assert normalise(dedented) == f"{one_line}\n\nMore."
    assert normalise("a field") != normalise("another field")


def test_schema_names_every_message_and_field() -> None:
    """Every request and event of the code, with each of its fields, is in docs/schema.json
    (the error table is checked against errors.py above)."""
    committed = json.loads((DOCS / "schema.json").read_text(encoding="utf-8"))
    defs = committed["$defs"]
    missing = [
        f"{cls.__name__}.{field.encode_name}"
        for cls in (*REQUEST_TYPES, *EVENT_TYPES)
        for field in msgspec.structs.fields(cls)
        if cls.__name__ not in defs or field.encode_name not in defs[cls.__name__]["properties"]
    ]
    assert missing == []


def test_protocol_doc_mentions_the_schema_generator() -> None:
    """protocol.md tells readers how to regenerate docs/schema.json."""
    assert "docs/gen_schema.py" in _doc()
