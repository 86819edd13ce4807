#!/usr/bin/python3
"""pymodbus client side of ./run bench: one synchronous ModbusTcpClient
reading holding registers 0..REGS-1 in requests of 125 (the protocol limit),
back to back, for SECONDS.  bench.py runs one process per PLC.

Usage: pymodbus_client_bench.py PORT [--regs 1000] [--seconds 3]
       [--start-at EPOCH]
--start-at lets bench.py connect every process first and start them
together.  Prints one JSON object: requests, registers, seconds, cpu_s,
rss_kb, errors.  Run with /usr/bin/python3 (Debian's python3-pymodbus).
"""

import argparse
import json
import logging
import resource
import sys
import time

from pymodbus.client import ModbusTcpClient

MAX_REGS = 125  # Modbus Application Protocol v1.1b3, 6.3


def cpu_s():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--regs", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--start-at", type=float, default=0.0)
    a = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    client = ModbusTcpClient("127.0.0.1", port=a.port, timeout=1)
    if not client.connect():
        sys.stderr.write("pymodbus bench: cannot connect to %d\n" % a.port)
        return 1
    chunks = [(s, min(MAX_REGS, a.regs - s)) for s in range(0, a.regs, MAX_REGS)]
    if a.start_at > time.time():
        time.sleep(a.start_at - time.time())
    requests = registers = errors = 0
    c0 = cpu_s()
    t0 = time.monotonic()
    end = t0 + a.seconds
    while time.monotonic() < end:
        for start, n in chunks:
            r = client.read_holding_registers(start, n, slave=1)
            if r.isError() or len(r.registers) < n:
                errors += 1
                continue
            requests += 1
            registers += n
    t1 = time.monotonic()
    c1 = cpu_s()
    client.close()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"requests": requests, "registers": registers,
                      "seconds": round(t1 - t0, 6), "cpu_s": round(c1 - c0, 6),
                      "rss_kb": rss_kb, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
