"""A small TCP proxy for cutting a link in tests (stop closes every connection; start listens again)."""
from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0):
        self.target = (target_host, target_port)
        self.listen_port = listen_port
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.running = False

    def start(self) -> int:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.listen_port))
        server.listen(64)
        self.listen_port = server.getsockname()[1]
        self._server, self.running = server, True
        self._spawn(self._accept, server)
        return self.listen_port

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def stop(self) -> None:
        """Close the listener and every connection, and wait for the threads to end: under eventlet a
        thread still waiting on a closed socket would clash with the next user of its file descriptor
        ("second simultaneous read")."""
        self.running = False
        if self._server:
            try:                                     # wake the accept() so that its thread ends
                socket.create_connection(("127.0.0.1", self.listen_port), timeout=1).close()
            except OSError:
                pass
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)  # the pipe threads see EOF and close their sockets
                except OSError:
                    pass
            self._conns.clear()
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)
        if self._server:
            self._server.close()
            self._server = None

    def _accept(self, server):
        while self.running:
            try:
                client, _ = server.accept()
            except OSError:
                return
            if not self.running:                     # the wake-up connection of stop()
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._spawn(self._pipe, a, b)

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, EOFError):   # eventlet raises EOFError when the other pipe closed the socket
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
