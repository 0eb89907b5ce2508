"""Settings that outlive the kernel: today, the dynamic API key.

Stored as JSON in ``<jupyter data dir>/streamcall_widget/settings.json`` (or the directory
given), written atomically and readable by the owner only, since an API key selects whose
app the user logs into.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

from streamcall_widget.errors import InputError

__all__ = ["SettingsStore"]


class SettingsStore:
    """A small JSON file of persistent settings."""

    def __init__(self, directory: str | Path | None = None) -> None:
        base = Path(directory) if directory is not None else Path(jupyter_data_dir())
        self.path = base / "streamcall_widget" / "settings.json"

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
        )

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-")
        with os.fdopen(fd, "w") as handle:
            os.fchmod(fd, 0o600)
            json.dump(data, handle)
        os.replace(tmp, self.path)

    @property
    def dynamic_api_key(self) -> str | None:
        """The stored dynamic API key, if one is set."""
        return self._read().get("dynamic_api_key")

    def set_dynamic_api_key(self, key: str | None) -> None:
        """Store ``key`` (None clears it)."""
        if key is not None and (not isinstance(key, str) or not key.strip()):
            raise InputError("the dynamic API key must be a non-empty string (or None to clear)")
        data = self._read()
        if key is None:
            data.pop("dynamic_api_key", None)
        else:
            data["dynamic_api_key"] = key.strip()
        self._write(data)
