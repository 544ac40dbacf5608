#!/usr/bin/python3
"""The index of a FileDescriptorSet that the gateway embeds beside it.

    index_descriptors.py SET.pb INDEX.txt

One line per file of the set, in set order, fields separated by one space:

    <offset> <size> <file name> <package or -> <extensions> <services or ->

<offset> and <size> locate the file's encoded FileDescriptorProto inside the
set; <extensions> counts its top-level `extend` fields; <services> are the
full names of its services, comma-separated. The gateway finds a service's
file from this without parsing any file (gateway/route/encoded_files.h,
docs/protogen.md). Python 3 standard library only: it walks the wire format.
"""

import sys


def varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def fields(data, start, end):
    """Yields (field number, wire type, value or (begin, end)) of a message."""
    pos = start
    while pos < end:
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            size, pos = varint(data, pos)
            yield number, wire, (pos, pos + size)
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("unsupported wire type %d at %d" % (wire, pos))


def text(data, span):
    value = data[span[0]:span[1]].decode("utf-8")
    if not value or any(c.isspace() for c in value):
        raise ValueError("name %r is empty or has white space" % value)
    return value


def index(data):
    lines = []
    for number, wire, span in fields(data, 0, len(data)):
        if number != 1 or wire != 2:
            continue
        name, package, extensions, services = None, "", 0, []
        for n, w, v in fields(data, span[0], span[1]):
            if n == 1 and w == 2:
                name = text(data, v)
            elif n == 2 and w == 2:
                package = text(data, v)
            elif n == 7 and w == 2:
                extensions += 1
            elif n == 6 and w == 2:
                for sn, sw, sv in fields(data, v[0], v[1]):
                    if sn == 1 and sw == 2:
                        short = text(data, sv)
                        services.append(package + "." + short if package else short)
        if name is None:
            raise ValueError("a file at %d has no name" % span[0])
        lines.append("%d %d %s %s %d %s\n" % (span[0], span[1] - span[0], name, package or "-",
                                              extensions, ",".join(services) or "-"))
    return "".join(lines)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    out = index(data)
    with open(argv[2], "w", encoding="utf-8", newline="\n") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
