"""Which service the app talks to: the built-in sandbox, or GrsAI with a key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from grsai_api import HOSTS, AsyncClient, Client

from .accounts import fingerprint
from .config import SANDBOX_API_KEY, AppConfig

CHOICES = {
    "sandbox": "Sandbox (built in, free)",
    "overseas": "GrsAI overseas · grsaiapi.com",
    "overseas-legacy": "GrsAI overseas · api.grsai.com (the older name)",
    "domestic": "GrsAI mainland · grsai.dakka.com.cn",
    "custom": "Custom URL",
}
LABELS = {"overseas": "GrsAI overseas", "overseas-legacy": "GrsAI overseas", "domestic": "GrsAI mainland"}


@dataclass(frozen=True)
class Connection:
    label: str
    base_url: str
    api_key: str = field(repr=False)
    is_sandbox: bool = False
    note: str | None = None  # why this is not what was asked for, if it is not
    sandbox_id: str = "sandbox"  # which sandbox: "sandbox" is the data folder's own (see sandbox_host)

    @property
    def account(self) -> str:
        """Who owns the tasks sent with this key: a fingerprint of it, never the key."""
        return fingerprint(self.api_key)

    @property
    def is_local(self) -> bool:
        """The service runs on this machine (the sandbox): its file links are on loopback."""
        host = urlparse(self.base_url).hostname or ""
        return self.is_sandbox or host in ("127.0.0.1", "localhost", "::1")

    @property
    def service_id(self) -> str:
        """Which service a task belongs to, as stored: "sandbox" (whatever its port) or the base URL."""
        return self.sandbox_id if self.is_sandbox else self.base_url

    def client(self, **kwargs) -> Client:
        return Client(api_key=self.api_key, base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs) -> AsyncClient:
        return AsyncClient(api_key=self.api_key, base_url=self.base_url, **kwargs)


def sandbox_connection(base_url: str, note: str | None = None) -> Connection:
    return Connection("Sandbox", base_url, SANDBOX_API_KEY, is_sandbox=True, note=note)


def default_choice(config: AppConfig) -> str:
    if not config.api_key:
        return "sandbox"
    return config.base_url if config.base_url in HOSTS else "custom"


def valid_url(url: str | None) -> bool:
    parsed = urlparse(url or "")
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def resolve_connection(
    config: AppConfig,
    choice: str | None,
    *,
    typed_key: str | None,
    custom_url: str | None,
    sandbox_url: Callable[[], str],
) -> Connection:
    """The connection for a Settings choice. A live choice without a key, or a custom choice
    without a usable URL, stays on the sandbox and says why."""
    choice = choice or default_choice(config)
    if choice == "sandbox":
        return sandbox_connection(sandbox_url())
    key = (typed_key or "").strip() or config.api_key
    if choice == "custom":
        url = custom_url or (config.base_url if valid_url(config.base_url) else None)
        if not valid_url(url):
            return Connection(
                "Sandbox",
                sandbox_url(),
                SANDBOX_API_KEY,
                is_sandbox=True,
                note="The custom URL is not a web address yet: using the sandbox.",
            )
        base_url, label = url.rstrip("/"), urlparse(url).netloc
    else:
        base_url, label = HOSTS[choice], LABELS[choice]
    if not key:
        return Connection(
            "Sandbox",
            sandbox_url(),
            SANDBOX_API_KEY,
            is_sandbox=True,
            note=f"{label} needs an API key: using the sandbox until one is set.",
        )
    return Connection(label, base_url, key)
