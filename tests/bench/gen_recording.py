#!/usr/bin/env python3
"""gen_recording.py BASE.json N > OUT.json — a recording (mailscope.transcript/1)
for the console benchmark: everything BASE has, its events, then N received lines
"* line I of the bench ..." (line N-10 also carries "xyzzy FOUND-IT"). Streams
the events out, so a million lines need little memory."""
import json
import sys


def main():
    base = json.load(open(sys.argv[1]))
    n = int(sys.argv[2])
    events = base.get("events", [])
    t = events[-1]["t"] if events else 0.0
    out = sys.stdout
    head = {k: v for k, v in base.items() if k != "events"}
    out.write(json.dumps(head)[:-1] + ', "events": [\n')
    first = True
    for e in events:
        out.write(("" if first else ",\n") + json.dumps(e))
        first = False
    for i in range(n):
        text = "* line %d of the bench FETCH (FLAGS (\\Seen) UID %d)" % (i, i + 100)
        if i == n - 10:
            text += " xyzzy FOUND-IT"
        e = {"t": t + i * 1e-6, "kind": "received", "op": "raw", "secure": True, "text": text}
        out.write(("" if first else ",\n") + json.dumps(e))
        first = False
    out.write("\n]}\n")


if __name__ == "__main__":
    main()
