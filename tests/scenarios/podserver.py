#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Backend pod for the scenario tests: answers each request with its name and closes first."""

# Protocol, one line from the client:
#   HELLO -> the server sends "<name>\n" and closes its side first, so the server (not the
#            client) holds TCP TIME_WAIT and the client may reuse its source port at once;
#   ECHO  -> the server sends "<name>\n", then echoes every line until the client closes.
# The director only sees the 5-tuple and the FIN order; the payload exists so that the
# client can tell which pod served it.

import argparse
import os
import socket
import threading


def handle(conn: socket.socket, name: bytes) -> None:
    with conn:
        conn.settimeout(30)
        try:
            rfile = conn.makefile("rb")
            first = rfile.readline().strip()
            conn.sendall(name + b"\n")
            if first == b"ECHO":
                for line in rfile:
                    conn.sendall(line)
            # Leaving the with-block closes the socket: the server's FIN goes out first.
        except OSError:
            pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--name", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--ready", help="file created once the socket listens")
    args = ap.parse_args()

    lsock = socket.socket(socket.AF_INET6 if ":" in args.addr else socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.addr, args.port))
    lsock.listen(512)
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(args.ready + ".tmp", args.ready)
    name = args.name.encode()
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=handle, args=(conn, name), daemon=True).start()


if __name__ == "__main__":
    main()
