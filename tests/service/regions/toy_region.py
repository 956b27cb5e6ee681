"""A stand-in region server for edge tests: two processes on one port, each answering its region name."""

from __future__ import annotations

import os
import socket
import sys


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    os.fork()  # a master and a worker, both accepting, like the service's workers
    body = name.encode()
    while True:
        conn, _ = sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))


if __name__ == "__main__":
    main()
