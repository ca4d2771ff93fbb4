"""Where settings come from: .streamlit/secrets.toml, then the environment, then defaults.

The API key is kept out of every repr; it is read here and handed only to the client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grsai_api import _catalogue as catalogue

from .accounts import SANDBOX_API_KEY  # noqa: F401  (re-exported)

TRUE_WORDS = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class AppConfig:
    data_dir: Path
    api_key: str | None = field(default=None, repr=False)
    key_source: str | None = None  # "secrets.toml" or "the environment"
    base_url: str = "overseas"  # used with a key: overseas, domestic or a URL
    database_url: str | None = field(default=None, repr=False)  # may carry a password
    sandbox_task_seconds: float = 6.0
    sandbox_render_profile: str = "standard"  # "light": tiny 4 fps videos (tests, a slow machine)
    poll_scale: float = 1.0  # the engine's polling clock; below 1 for a time-scaled sandbox (tests)
    public_url: str | None = None  # where the service can post task updates (webhooks); none: poll only
    webhook_port: int = 8599
    webhook_host: str = "127.0.0.1"  # where the receiver listens: a proxy in front takes public_url's traffic
    media_url: str | None = None  # s3://bucket/prefix for a bucket; none: the data folder's media/
    refunds_refusals: bool = False  # the service gives back a content refusal's credits (GrsAI does not)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def sandbox_dir(self) -> Path:
        return self.data_dir / "sandbox"

    @classmethod
    def load(
        cls, secrets: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> AppConfig:
        secrets = secrets or {}
        environ = os.environ if environ is None else environ

        def setting(name: str, default: str | None = None) -> str | None:
            value = secrets.get(name) or environ.get(name)
            return str(value).strip() if value not in (None, "") else default

        key_source = (
            "secrets.toml"
            if secrets.get("GRSAI_API_KEY")
            else ("the environment" if environ.get("GRSAI_API_KEY") else None)
        )
        data_dir = Path(setting("SORA_DATA_DIR", "data")).expanduser().resolve()
        use_models_file(data_dir)
        return cls(
            data_dir=data_dir,
            api_key=setting("GRSAI_API_KEY"),
            key_source=key_source,
            base_url=setting("GRSAI_BASE_URL", "overseas"),
            database_url=setting("DATABASE_URL"),
            sandbox_task_seconds=float(setting("SANDBOX_TASK_SECONDS", "6")),
            sandbox_render_profile=setting("SANDBOX_RENDER_PROFILE", "standard") or "standard",
            poll_scale=min(1.0, max(0.01, float(setting("SORA_POLL_SCALE", "1") or 1))),
            public_url=setting("SORA_PUBLIC_URL"),
            webhook_port=int(setting("SORA_WEBHOOK_PORT", "8599")),
            webhook_host=setting("SORA_WEBHOOK_HOST", "127.0.0.1") or "127.0.0.1",
            media_url=setting("SORA_MEDIA_URL"),
            refunds_refusals=(setting("GRSAI_REFUNDS_REFUSALS", "") or "").lower() in TRUE_WORDS,
        )


def use_models_file(data_dir: Path) -> None:
    """The deployment's own models (``<data dir>/models.toml``, beside GRSAI_MODELS_FILE, which the
    client reads itself): added to the catalogue when present, again whenever the file changes. A bad
    file changes nothing and says why (``grsai_api._catalogue.PROBLEMS``, shown in Settings)."""
    path = data_dir / "models.toml"
    if path.exists():
        catalogue.add_file(path)
