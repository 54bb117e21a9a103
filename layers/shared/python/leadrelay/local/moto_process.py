"""moto's server in its own process: `python -m leadrelay.local.moto_process --port N`.

The local stack starts it (see `aws.MotoServer`) so moto has its own interpreter and core. It
applies the same patches as the in-process server (one request at a time, cheap transactions),
stops on SIGTERM (SIGINT is the stack's to handle), and exits by itself if the process that
started it goes away.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description="moto's server for the LeadRelay local stack")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    from leadrelay.local import moto_speed
    from leadrelay.local.aws import _serialised_moto_server, moto_speed_wanted, quiet_werkzeug

    quiet_werkzeug()
    if moto_speed_wanted():
        moto_speed.install()
    server = _serialised_moto_server(args.port)
    server.start()
    # The parent waits for this line: the server is ready, and this is its port.
    print(f"LISTENING {server.get_host_and_port()[1]}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C in a terminal reaches the whole foreground process group: leave it to the stack,
    # which stops its threads first and then this server (SIGTERM), so nothing calls a moto that
    # is already gone (a traceback on every Ctrl-C otherwise).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    # An orphaned server would hold its port forever: leave when the parent is gone.
    while not stop.wait(1.0):
        if os.getppid() != parent:
            break
    server.stop()


if __name__ == "__main__":
    main()
