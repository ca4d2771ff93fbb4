"""``python -m sandbox --port 8765``: serve the GrsAI-compatible sandbox. ``--help`` lists every knob."""

from __future__ import annotations

import uvicorn

from .config import build_parser, config_from_args
from .server import create_app


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    try:
        config = config_from_args(args)
    except ValueError as exc:  # e.g. --model-down with a name that is not a model
        parser.error(str(exc))
    print(f"GrsAI sandbox on http://{args.host}:{args.port} (data in {config.data_dir})", flush=True)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
