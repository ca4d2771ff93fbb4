"""A GrsAI-compatible server that renders real videos and images for every model of the catalogue
(Sora 2, Veo 3.1, MiniMax H3 on the unified API, Nano Banana, GPT image), for running without a key
or network.

It shares only the model catalogue (names, prices, sizes: ``grsai_api/_catalogue.py``) with the
client; it reads and checks requests and writes replies itself, so testing one against the other
checks the protocol from both sides.
"""

from .config import SandboxConfig
from .runner import RunningSandbox, serve_in_thread
from .server import create_app

__all__ = ["RunningSandbox", "SandboxConfig", "create_app", "serve_in_thread"]
