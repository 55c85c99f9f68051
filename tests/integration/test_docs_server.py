"""`leadgate docs --serve`: a port that is taken is one line naming it, not a bare errno."""

from __future__ import annotations

import socket

import pytest

from leadgate.transform.docs import DocsFailed, docs_server


def test_a_taken_port_is_named_with_what_to_do(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(
            DocsFailed, match=rf"cannot serve the docs on http://127.0.0.1:{port}: .*in use; choose another --port"
        ):
            docs_server(tmp_path, port)
    finally:
        taken.close()


def test_a_free_port_serves_the_folder(tmp_path):
    (tmp_path / "index.html").write_text("<h1>docs</h1>")
    server = docs_server(tmp_path, 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
