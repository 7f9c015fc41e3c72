"""A TCP relay in front of a live server whose connection can be cut, for the offline tests:
Chromium's own offline switch does not reach the service worker, a cut relay reaches everything
(the page, the service worker, and the requests in flight)."""

from __future__ import annotations

import socket
import threading


class Relay:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.down = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """No connection: open connections are reset and new ones closed at once."""
        with self._lock:
            self.down = True
            for sock in list(self._open):
                self._close(sock)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self.down = False

    def close(self) -> None:
        self.cut()
        self._listener.close()

    @staticmethod
    def _close(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self.down:
                    self._close(client)
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (source, sink):
                    if sock in self._open:
                        self._open.discard(sock)
                        self._close(sock)
