"""`manage.py runserver` (what `make run` serves with) answers kept-alive
requests without the Nagle / delayed-ACK stall (config/devserver.py): the
command resolves to ours, its server sets TCP_NODELAY on every accepted
socket, and a real runserver process answers small responses on one kept-alive
connection in a few ms, not the 40 ms a delayed ACK costs."""

import socket
import time

import pytest
import requests
from django.core.management import get_commands, load_command_class

from config.devserver import NoDelayWSGIServer
from tests.servers import server_env, web_server

# Linux delays an ACK by at least 40 ms: a stalled response never comes faster.
STALL_MS = 40


def test_runserver_is_ours_and_still_serves_static_files():
    from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver

    command = load_command_class(get_commands()["runserver"], "runserver")
    assert command.server_cls is NoDelayWSGIServer
    assert isinstance(command, StaticfilesRunserver)


def test_every_accepted_socket_has_nagle_off():
    from django.test.testcases import QuietWSGIRequestHandler

    server = NoDelayWSGIServer(("127.0.0.1", 0), QuietWSGIRequestHandler)
    try:
        for _ in range(2):
            with socket.create_connection(server.server_address) as client:
                assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # the client left as it was
                accepted, _ = server.get_request()
                with accepted:
                    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_kept_alive_small_responses_do_not_wait_for_a_delayed_ack(tmp_path):
    with web_server("runserver", tmp_path / "runserver.log", server_env()) as base, requests.Session() as session:
        session.get(base + "/accounts/login/", timeout=30)  # connection opened outside the timing
        elapsed_ms = []
        for _ in range(8):
            t0 = time.perf_counter()
            assert session.get(base + "/accounts/login/", timeout=30).status_code == 200
            elapsed_ms.append((time.perf_counter() - t0) * 1000)
    # the fastest of 8: background load can slow some, but a stall slows every one
    assert min(elapsed_ms) < STALL_MS * 0.75, elapsed_ms
