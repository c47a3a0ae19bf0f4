#!/usr/bin/env python3
"""gen_recording.py BASE.json N > OUT.json — a recording (mailscope.transcript/1)
for the console benchmark: BASE's report and events, then N received lines
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
    out.write('{"schema": %s, "report": %s, "events": [\n'
              % (json.dumps(base["schema"]), json.dumps(base["report"])))
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
