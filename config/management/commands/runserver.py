"""`manage.py runserver` (what `make run` serves with): staticfiles' command,
on a socket server that sends small responses without the Nagle stall
(config/devserver.py)."""

from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver

from config.devserver import NoDelayWSGIServer


class Command(StaticfilesRunserver):
    server_cls = NoDelayWSGIServer
