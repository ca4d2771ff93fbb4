"""A GrsAI-compatible Sora 2 server that renders real videos, for running without a key or network.

It shares no code with the client in ``grsai_api``, so testing one against the other checks the
protocol from both sides.
"""

from .config import SandboxConfig
from .runner import RunningSandbox, serve_in_thread
from .server import create_app

__all__ = ["RunningSandbox", "SandboxConfig", "create_app", "serve_in_thread"]
