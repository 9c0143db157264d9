#!/usr/bin/env python3
"""`--serve sink=...` for failover_lab_test.sh: logs the call's number (once per handler run) and
answers with the SHA-256 of its data, so the caller can check the payload arrived intact."""
import hashlib
import json
import sys

params = json.load(sys.stdin)
digest = hashlib.sha256(params.get("data", "").encode()).hexdigest()
with open(sys.argv[1], "a", encoding="ascii") as log:
    log.write(f"{params['i']}\n")
json.dump({"i": params["i"], "sha256": digest}, sys.stdout)
