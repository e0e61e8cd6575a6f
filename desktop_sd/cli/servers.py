"""``desktop-sd servers list | add | remove | test``: the ComfyUI servers jobs can run on.

Names and URLs go to the settings file; a token goes to the OS keyring
(read from stdin, so it stays out of the shell's history) and is never printed.
"""

from __future__ import annotations

import argparse
import sys

from desktop_sd.core.errors import ServerError
from desktop_sd.core.settings import Settings
from desktop_sd.remote import servers
from desktop_sd.remote.servers import ServerEntry

EXIT_FAILURE = 1

ALLOW_REMOTE_HELP = "use a server on another machine even in offline mode (for this run)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "servers",
        help="list, add, remove or test ComfyUI servers to generate on",
        description="ComfyUI servers to generate on (`generate --server NAME`). Start one with "
        "`python main.py --listen 127.0.0.1 --port 8188` in a ComfyUI checkout.",
    )
    commands = parser.add_subparsers(dest="servers_command", metavar="ACTION", required=True)
    commands.add_parser("list", help="the servers added, with their URLs").set_defaults(func=run_list)
    add = commands.add_parser("add", help="add or replace a server")
    add.add_argument("name", help="a short name, e.g. gpu-box")
    add.add_argument("url", help="host:port or http(s)://host:port (port 8188 if left out)")
    add.add_argument("--token-stdin", action="store_true", help="read an access token from stdin (kept in the keyring)")
    add.set_defaults(func=run_add)
    remove = commands.add_parser("remove", help="remove a server and its token")
    remove.add_argument("name")
    remove.set_defaults(func=run_remove)
    test = commands.add_parser("test", help="connect, report the ComfyUI version and list its checkpoints")
    test.add_argument("name", metavar="NAME_OR_URL")
    test.add_argument("--allow-remote", action="store_true", help=ALLOW_REMOTE_HELP)
    test.set_defaults(func=run_test)


def _failing(action: str, exc: ServerError) -> int:
    print(f"error: {action}: {exc}", file=sys.stderr)
    return EXIT_FAILURE


def run_list(args: argparse.Namespace) -> int:
    entries = servers.server_entries(Settings.load())
    if not entries:
        print("No servers yet: add one with `desktop-sd servers add NAME URL`.", file=sys.stderr)
    for entry in entries:
        token = " (token in keyring)" if servers.load_token(entry.name) else ""
        print(f"{entry.name}\t{entry.url}{token}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    settings = Settings.load()
    token = sys.stdin.readline().strip() if args.token_stdin else None
    try:
        entry = servers.add_server(settings, args.name, args.url, token)
    except ServerError as exc:
        return _failing("could not add the server", exc)
    settings.save()
    print(f"added {entry.name}: {entry.url}" + (" (token in keyring)" if token else ""))
    warning = servers.PlainHttpWarnings().warning(entry.url)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    settings = Settings.load()
    try:
        servers.remove_server(settings, args.name)
    except ServerError as exc:
        return _failing("could not remove the server", exc)
    settings.save()
    print(f"removed {args.name}")
    return 0


def connect(settings: Settings, name_or_url: str, allow_remote: bool, offline: bool) -> ServerEntry:
    """The server to use, after the privacy checks: offline mode, and a warning for plain http."""
    entry = servers.find_server(settings, name_or_url)
    servers.check_allowed(entry.url, offline, allow_remote)
    warning = servers.PlainHttpWarnings().warning(entry.url)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return entry


def run_test(args: argparse.Namespace) -> int:
    from desktop_sd.models.network import is_offline

    settings = Settings.load()
    try:
        entry = connect(settings, args.name, args.allow_remote, is_offline(settings))
        client = entry.client(timeout_s=10.0)
        version = client.version()
        checkpoints = client.checkpoints()
    except ServerError as exc:
        return _failing(f"{args.name} failed the test", exc)
    print(f"{entry.name}: ComfyUI {version} at {entry.url}")
    print(f"{len(checkpoints)} checkpoint(s):")
    for name in checkpoints:
        print(f"  {name}")
    return 0
