#!/usr/bin/env python3
"""Send one command to GIMP's Script-Fu server and print the answer.

Protocol (plug-ins/script-fu/server/script-fu-server.c): the request is
'G', length (2 bytes, big endian), command; the answer is 'G', an error flag,
length (2 bytes), text. Exit status 0 for success, 1 when Script-Fu reported an
error, 2 when the server could not be reached."""
import socket
import struct
import sys
import time


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


def main():
    port, command = int(sys.argv[1]), sys.argv[2].encode()
    deadline = time.time() + float(sys.argv[3]) if len(sys.argv) > 3 else time.time() + 60
    while True:  # the server may still be starting
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                print("sf-client: no Script-Fu server on port %d" % port)
                return 2
            time.sleep(0.5)
    sock.settimeout(max(1.0, deadline - time.time()))
    sock.sendall(b"G" + struct.pack(">H", len(command)) + command)
    magic, err, length = struct.unpack(">cBH", recv_exact(sock, 4))
    text = recv_exact(sock, length).decode("utf-8", "replace")
    print(text)
    return 1 if err else 0


if __name__ == "__main__":
    sys.exit(main())
