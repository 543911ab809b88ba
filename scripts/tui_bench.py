#!/usr/bin/env python3
"""Terminal-side figures for docs/performance.md: the real binary in a PTY.

Measures process start -> first drawn frame (the login screen), Enter on
the password -> first dashboard frame, bytes written by an idle dashboard
over N seconds, and bytes written for moving the selection one row.
Bytes are what the PTY master reads, i.e. exactly what the terminal gets.

usage: POSTFIX_MANAGER_CONFIG=... tui_bench.py BINARY USER PASSWORD [IDLE_SECONDS]
TUI_BENCH_SIZE=COLSxROWS sets the window (default 160x50).
"""
import os, pty, select, sys, time, json

binary, user, password = sys.argv[1:4]
idle_s = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
env = dict(os.environ, TERM="xterm-256color")
env.pop("POSTFIX_MANAGER_PASSWORD_FILE", None)

t0 = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    os.execve(binary, [binary], env)

import fcntl, termios, struct
cols, rows = (int(n) for n in os.environ.get("TUI_BENCH_SIZE", "160x50").split("x"))
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
buf = bytearray()


def read_for(seconds):
    """Bytes read within `seconds`."""
    got = bytearray()
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return bytes(got)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return bytes(got)
            got += chunk
            buf.extend(chunk)


def wait_for(text, timeout=30):
    start = time.monotonic()
    while text.encode() not in buf:
        if time.monotonic() - start > timeout:
            raise SystemExit(f"timeout waiting for {text!r}; got {bytes(buf[-400:])!r}")
        read_for(0.005)
    return time.monotonic()


t_login = wait_for("Log in") - t0
os.write(fd, (user + "\r").encode())
time.sleep(0.2)
buf.clear()
t1 = time.monotonic()
os.write(fd, (password + "\r").encode())
t_dash = wait_for("Domains by usage", 60) - t1
read_for(2.0)  # let the first frames and data settle
idle = read_for(idle_s)
os.write(fd, b"\x1b[B")  # Down arrow on the dashboard's usage table
dash_move = read_for(1.0)
os.write(fd, b":mailboxes\r")  # the mailbox table screen
read_for(2.0)
os.write(fd, b"\x1b[B")  # Down arrow: move the selection one row
move = read_for(1.0)
# `j` ten times, one at a time: the average is the cost of one row's move.
j_bytes = []
for _ in range(10):
    os.write(fd, b"j")
    j_bytes.append(len(read_for(0.5)))
os.write(fd, b"q")
read_for(1.0)
print(json.dumps({
    "start_to_login_frame_ms": round(t_login * 1000, 1),
    "password_enter_to_dashboard_frame_ms": round(t_dash * 1000, 1),
    "idle_seconds": idle_s,
    "idle_bytes": len(idle),
    "dashboard_down_bytes": len(dash_move),
    "mailboxes_move_one_row_bytes": len(move),
    "mailboxes_j_bytes_each": j_bytes,
    "mailboxes_j_bytes_mean": round(sum(j_bytes) / len(j_bytes), 1),
    "size": f"{cols}x{rows}",
}))
