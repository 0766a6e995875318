"""gunicorn's configuration for partnerdesk, one place for every server setting:

    gunicorn -c python:partnerdesk.core.gunicorn_conf [--bind HOST:PORT] [--workers N]

Options given on the command line win over the values here. ``partnerdesk serve``
(core/management/commands/serve.py) runs gunicorn with this module too, and adds the
bind, the number of workers and the access log.

Workers die with their master. gunicorn's workers notice a dead master only by polling
their parent's pid, and then finish their in-flight requests first, holding the
listening socket all the while: after a SIGKILL of the master, a restart on the same port
failed ("Address already in use") until the slowest request was done. Here each worker
asks Linux to send it SIGTERM when the master dies (``PR_SET_PDEATHSIG``), and on that
SIGTERM, orphaned, it first shuts its listening sockets, which frees the port for the
next server at once, then lets its in-flight requests finish (at most
``graceful_timeout``) and exits. Elsewhere than Linux the workers keep gunicorn's own
parent check.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import sys

wsgi_app = "partnerdesk.wsgi:application"
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
# two servers on one machine would share it, and a killed master leaves it behind.
control_socket_disable = True
# SIGTERM (a service manager's stop, a deploy): stop accepting, let each worker finish
# the requests it has for up to this many seconds, then exit 0.
graceful_timeout = 30
# The combined log format, the time the request took, and the address a reverse proxy
# forwarded for (PARTNERDESK_BEHIND_PROXY; "-" without one). Written only where an access
# log is asked for: `partnerdesk serve` writes it to stdout.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms "%({x-forwarded-for}i)s"'
)

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def post_fork(server, worker) -> None:
    if not _die_with_parent(signal.SIGTERM):
        worker.log.debug("PR_SET_PDEATHSIG unavailable: relying on gunicorn's parent check")
    elif os.getppid() != worker.ppid:
        # The master died between fork() and prctl(): no signal will come.
        os._exit(0)


def post_worker_init(worker) -> None:
    """Wrap the worker's SIGTERM handler (installed by now): an orphan frees the port
    before it drains."""
    graceful_exit = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame) -> None:
        orphaned = os.getppid() != worker.ppid
        if callable(graceful_exit):
            graceful_exit(signum, frame)
        if orphaned:
            worker.log.warning("master %s died: freeing the port, then exiting", worker.ppid)
            _stop_listening(worker)

    signal.signal(signal.SIGTERM, on_sigterm)


def _stop_listening(worker) -> None:
    # The threaded worker polls its listeners: take them out of the poller first, so that
    # it does not try to accept on a socket that no longer listens.
    if hasattr(worker, "set_accept_enabled"):
        with contextlib.suppress(Exception):
            worker.set_accept_enabled(False)
    for listener in worker.sockets:
        # shutdown(), not close(): the descriptor stays valid for the worker's own
        # select(), while the socket stops listening and a new server may bind the port.
        with contextlib.suppress(OSError, AttributeError):
            listener.sock.shutdown(socket.SHUT_RDWR)
