"""The scenario of assets/report-example.txt and check-example.txt, run inside a fresh network
namespace where net.core.somaxconn is 128: a service asked listen(fd, 511) on [::]:8080 and
stopped calling accept() while clients keep arriving; a database-like listener on
127.0.0.1:5432 whose clients come and go (TIME_WAIT); a UDP socket with a small receive buffer
that nobody reads. Writes READY to stdout once the queues are in place, then holds them."""
import socket, sys, time

stuck = socket.socket(socket.AF_INET6); stuck.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
stuck.bind(("::", 8080)); stuck.listen(511)
db = socket.socket(); db.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
db.bind(("127.0.0.1", 5432)); db.listen(128)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); udp.bind(("127.0.0.1", 5353))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
held = []
for _ in range(140):  # the stuck service's clients; past 129 they retry their SYNs
    c = socket.socket(); c.setblocking(False); c.connect_ex(("127.0.0.1", 8080)); held.append(c)
for _ in range(12):  # short-lived database clients: they close first and leave TIME_WAIT
    c = socket.create_connection(("127.0.0.1", 5432)); s, _ = db.accept(); c.close(); time.sleep(0.01); s.close()
for _ in range(30):  # connections the database holds open
    c = socket.create_connection(("127.0.0.1", 5432)); s, _ = db.accept(); held.extend([c, s])
for _ in range(50):
    sender.sendto(b"x" * 512, ("127.0.0.1", 5353))
print("READY", flush=True)
time.sleep(3600)
