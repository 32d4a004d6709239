"""The development server's socket server, without the kept-alive stall.

Django's runserver writes a response in several small send()s (the headers,
then the body). With Nagle's algorithm on, the second waits until the first is
acknowledged, and a client on a kept-alive connection delays that ACK (Linux:
up to 40 ms), so every small response on a kept-alive connection (what
browsers use) took about 40 ms instead of 3. A new connection escapes it only
because TCP acknowledges quickly at its start. TCP_NODELAY on each accepted
socket sends every write at once, as gunicorn does."""

import socket

from django.core.servers.basehttp import WSGIServer


class NoDelayWSGIServer(WSGIServer):
    def get_request(self):
        sock, address = super().get_request()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address
