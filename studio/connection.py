"""Which service the app talks to: the built-in sandbox, or GrsAI with a key."""

from __future__ import annotations

from dataclasses import dataclass, field

from grsai_api import HOSTS, AsyncClient, Client

from .config import SANDBOX_API_KEY, AppConfig

PRESETS = {"overseas": "GrsAI overseas", "domestic": "GrsAI mainland"}


@dataclass(frozen=True)
class Connection:
    label: str
    base_url: str
    api_key: str = field(repr=False)
    is_sandbox: bool = False

    def client(self, **kwargs) -> Client:
        return Client(api_key=self.api_key, base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs) -> AsyncClient:
        return AsyncClient(api_key=self.api_key, base_url=self.base_url, **kwargs)


def sandbox_connection(base_url: str) -> Connection:
    return Connection("Sandbox", base_url, SANDBOX_API_KEY, is_sandbox=True)


def live_connection(config: AppConfig) -> Connection | None:
    """GrsAI with the configured key, or None when no key is set."""
    if not config.api_key:
        return None
    label = PRESETS.get(config.base_url, config.base_url)
    return Connection(label, HOSTS.get(config.base_url, config.base_url), config.api_key)
