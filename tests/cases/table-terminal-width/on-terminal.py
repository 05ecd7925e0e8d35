"""Runs a command with stdout on a pseudo-terminal COLS columns wide; prints what it wrote.
Usage: on-terminal.py COLS COMMAND [ARGS...]"""
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

cols = int(sys.argv[1])
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
# No echo or CRLF translation: the bytes read back are the bytes written.
attrs = termios.tcgetattr(slave)
attrs[1] &= ~termios.OPOST
termios.tcsetattr(slave, termios.TCSANOW, attrs)
proc = subprocess.Popen(sys.argv[2:], stdout=slave)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(proc.wait())
