"""Free local ports for the tests whose processes meet over TCP."""

import socket


def free_port_pair():
    """A port P with P+1 free too (JAX's coordinator and keras-wgan's control link)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two free consecutive local ports")
