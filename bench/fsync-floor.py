#!/usr/bin/env python3
"""What one durable 4 KiB write costs on this disk: the floor under any "ACK only after
fsync" latency (docs/benchmarks.md, "The disk").

Usage: bench/fsync-floor.py [DIR] [COUNT]   (DIR defaults to /tmp, COUNT to 2000)

Three patterns, COUNT writes each, on a scratch file in DIR that is removed afterwards:
  overwrite+fdatasync   rewrite blocks already allocated and flushed (a pre-filled WAL)
  append+fdatasync      extend the file by 4 KiB each time (a WAL growing from empty)
  O_DIRECT|O_DSYNC      overwrite, bypassing the page cache, durable on return
Prints p50/p90/p99/max in microseconds for each.
"""
import mmap
import os
import sys
import time

BLOCK = 4096


def stats(name, samples):
    samples.sort()
    n = len(samples)
    print("%-28s p50 %6.0f  p90 %6.0f  p99 %6.0f  max %6.0f  us"
          % (name, samples[n // 2] * 1e6, samples[n * 9 // 10] * 1e6,
             samples[n * 99 // 100] * 1e6, samples[-1] * 1e6))


def timed(fn, count):
    out = []
    for i in range(count):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    path = os.path.join(directory, ".hyperdhcp-fsync-floor.%d" % os.getpid())
    data = b"x" * BLOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"\0" * (count * BLOCK))
        os.fsync(fd)
        stats("overwrite+fdatasync",
              timed(lambda i: (os.pwrite(fd, data, i * BLOCK), os.fdatasync(fd)), count))
        os.ftruncate(fd, 0)
        os.fsync(fd)
        stats("append+fdatasync",
              timed(lambda i: (os.pwrite(fd, data, i * BLOCK), os.fdatasync(fd)), count))
        os.ftruncate(fd, 0)
        os.write(fd, b"\0" * (count * BLOCK))
        os.fsync(fd)
        os.close(fd)
        fd = os.open(path, os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
        buf = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT needs
        buf.write(data)
        stats("O_DIRECT|O_DSYNC overwrite",
              timed(lambda i: os.pwritev(fd, [buf], i * BLOCK), count))
        os.close(fd)
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
