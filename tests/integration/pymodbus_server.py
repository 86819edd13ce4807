#!/usr/bin/python3
"""A Modbus TCP server nobody on this project wrote (pymodbus), serving known
values so that lockbridge's decoding can be checked against an independent
encoder.

Usage: pymodbus_server.py PORT OUTDIR [--values FILE]

Reads the value table (tests/data/pymodbus/values.json by default), encodes
every register value with pymodbus's own BinaryPayloadBuilder (never with our
decode.c), and writes into OUTDIR:
  plc.yaml          a PLC map in lockbridge's format describing the layout
  plc-badunit.yaml  the same map with a unit id this server does not serve
  expected.json     {full tag id: {"value": ..., "unit": ..., "type": ...}}
Then serves unit 1 on 127.0.0.1:PORT, prints "ready" once listening, and
runs until killed.

Word orders (bridge/src/plcmap.h): ABCD is big-endian bytes in big-endian
words, most significant word first.  In pymodbus terms byteorder is the order
of the two bytes inside a register and wordorder the order of the registers,
so: ABCD = (Big, Big), CDAB = (Big, Little), BADC = (Little, Big),
DCBA = (Little, Little).
"""

import asyncio
import json
import logging
import os
import struct
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import (ModbusSequentialDataBlock,
                                ModbusServerContext, ModbusSlaveContext)
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartAsyncTcpServer

UNIT = 1
BAD_UNIT = 7
# Input registers start a little further on than holding registers, so a
# bridge that reads the wrong table gets visibly wrong values.
TABLE_BASE = {"holding": 0, "input": 3}
TABLE_PREFIX = {"holding": "hr", "input": "ir"}

ORDERS = {
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}

ADDERS = {
    "u16": "add_16bit_uint", "i16": "add_16bit_int",
    "u32": "add_32bit_uint", "i32": "add_32bit_int",
    "u64": "add_64bit_uint", "i64": "add_64bit_int",
    "f32": "add_32bit_float", "f64": "add_64bit_float",
}


def f32(x):
    """x rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def encode(entry):
    """Registers for one table entry, built by pymodbus."""
    typ = entry["type"]
    order = entry.get("order", "ABCD")
    byteorder, wordorder = ORDERS[order]
    if typ == "bool":
        b = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=Endian.Big)
        b.add_16bit_uint(entry["raw"])
        return b.to_registers()
    if typ == "string":
        data = entry["raw"].encode("utf-8")
        nbytes = 2 * entry["length"]
        assert len(data) <= nbytes, entry["id"]
        data = data + b"\0" * (nbytes - len(data))
        if order in ("ABCD", "CDAB"):
            # add_string packs the bytes as they are: first character in the
            # high byte of the first register.
            b = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=Endian.Big)
            b.add_string(data)
        else:
            # First character in the low byte: each pair of characters added
            # as a big-endian 16-bit value through a little-endian builder.
            b = BinaryPayloadBuilder(byteorder=Endian.Little,
                                     wordorder=Endian.Big)
            for i in range(0, nbytes, 2):
                b.add_16bit_uint((data[i] << 8) | data[i + 1])
        return b.to_registers()
    b = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    getattr(b, ADDERS[typ])(entry["raw"])
    return b.to_registers()


def expected_value(entry):
    typ = entry["type"]
    raw = entry["raw"]
    if typ == "bool":
        return bool((raw >> entry["bit"]) & 1)
    if typ == "string":
        return raw
    if typ == "f32":
        raw = f32(raw)
    if "scale" in entry or "offset" in entry:
        # Same arithmetic as the bridge: raw * scale + offset in doubles.
        return float(raw) * float(entry.get("scale", 1)) + \
            float(entry.get("offset", 0))
    return raw


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def build(values, port):
    """Returns (register tables, bit tables, YAML tag lines, expected)."""
    regs = {"holding": [], "input": []}
    tags = []
    expected = {}
    for table, base in TABLE_BASE.items():
        pre = TABLE_PREFIX[table]
        words = {}  # bit-packed words: key -> address
        regs[table] = [0] * base
        for e in values["registers"]:
            tid = "%s_%s" % (pre, e["id"])
            if e["type"] == "bool" and e.get("word") in words:
                addr = words[e["word"]]
            else:
                addr = len(regs[table])
                regs[table].extend(encode(e))
                if e["type"] == "bool":
                    words[e["word"]] = addr
            line = "  - {id: %s, table: %s, address: %d, type: %s" % (
                tid, table, addr, e["type"])
            if "bit" in e:
                line += ", bit: %d" % e["bit"]
            if "order" in e:
                line += ", order: %s" % e["order"]
            if "length" in e:
                line += ", length: %d" % e["length"]
            if "scale" in e:
                line += ", scale: %r" % e["scale"]
            if "offset" in e:
                line += ", offset: %r" % e["offset"]
            if "unit" in e:
                line += ", unit: %s" % yaml_str(e["unit"])
            tags.append(line + "}")
            expected["pym." + tid] = {
                "value": expected_value(e), "unit": e.get("unit"),
                "type": e["type"],
                "scaled": "scale" in e or "offset" in e}
    bits = {"coil": values["coils"], "discrete": values["discrete"]}
    for table, vals in bits.items():
        for i, v in enumerate(vals):
            tid = "%s_%d" % (table, i)
            tags.append("  - {id: %s, table: %s, address: %d, type: bool}"
                        % (tid, table, i))
            expected["pym." + tid] = {"value": bool(v), "unit": None,
                                      "type": "bool", "scaled": False}
    return regs, bits, tags, expected


def map_text(port, unit, tags):
    head = [
        "# Generated by tests/integration/pymodbus_server.py: the layout",
        "# of the values pymodbus serves on port %d." % port,
        "id: pym",
        "name: {en: pymodbus peer, zh: pymodbus 对端}",
        "host: 127.0.0.1",
        "port: %d" % port,
        "unit: %d" % unit,
        "timeout: 300ms",
        "word_order: ABCD",
        "address_base: 0",
        "poll: {fast: 1s}",
        "tags:",
    ]
    return "\n".join(head + tags) + "\n"


async def serve(port, regs, bits):
    # Data blocks start at 0 and zero_mode makes protocol address N index N.
    store = ModbusSlaveContext(
        co=ModbusSequentialDataBlock(0, [bool(v) for v in bits["coil"]]),
        di=ModbusSequentialDataBlock(0, [bool(v) for v in bits["discrete"]]),
        hr=ModbusSequentialDataBlock(0, regs["holding"]),
        ir=ModbusSequentialDataBlock(0, regs["input"]),
        zero_mode=True)
    context = ModbusServerContext(slaves={UNIT: store}, single=False)
    server = await StartAsyncTcpServer(
        context=context, address=("127.0.0.1", port),
        allow_reuse_address=True, defer_start=True)
    task = asyncio.ensure_future(server.serve_forever())
    await server.serving
    print("ready", flush=True)
    await task


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: pymodbus_server.py PORT OUTDIR "
                         "[--values FILE]\n")
        return 2
    port = int(argv[1], 10)
    outdir = argv[2]
    vfile = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "data", "pymodbus", "values.json")
    if len(argv) >= 5 and argv[3] == "--values":
        vfile = argv[4]
    with open(vfile, encoding="utf-8") as f:
        values = json.load(f)
    regs, bits, tags, expected = build(values, port)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "plc.yaml"), "w", encoding="utf-8") as f:
        f.write(map_text(port, UNIT, tags))
    with open(os.path.join(outdir, "plc-badunit.yaml"), "w",
              encoding="utf-8") as f:
        f.write(map_text(port, BAD_UNIT, tags))
    with open(os.path.join(outdir, "expected.json"), "w",
              encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
    # pymodbus logs a "Handler ... canceled" line on every disconnect.
    logging.basicConfig(level=logging.CRITICAL)
    try:
        asyncio.run(serve(port, regs, bits))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
