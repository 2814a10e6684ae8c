#!/usr/bin/env python3
"""Verifies pension-transfer event signatures the way docs/event-contract.md specifies them,
written from the document alone (Python's `cryptography`, no code of the offices), so a test can
show that a consumer in another language accepts what the offices sign and refuses the rest.

    verify_event_signatures.py --keys office-keys.json records.json

records.json is a list of records as read from Kafka:
    [{"place": "topic[0]@12", "headers": [["ce_id", "..."], ...], "value": "<base64 of the value>"}]

Prints one JSON object per record: {"place": ..., "valid": true} or
{"place": ..., "valid": false, "reason": "bad-signature" | "unknown-key", "detail": ...}.
"""
import argparse
import base64
import binascii
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNED = ["ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "ce_recipient"]


def canonical(headers, value):
    lines = ["pension-transfer-event-signature-v1"]
    for name in SIGNED:
        lines.append(f"{name}:{headers[name]}")
    lines.append("data_sha256:" + hashlib.sha256(value).hexdigest())
    return ("\n".join(lines) + "\n").encode("utf-8")


def verify(record, keys):
    names = [name for name, _ in record["headers"]]
    for name in SIGNED + ["ce_signature", "ce_signaturekey"]:
        if names.count(name) > 1:
            return "bad-signature", f"{name} appears more than once"
    headers = dict(record["headers"])
    value = base64.b64decode(record["value"]) if record.get("value") is not None else b""
    if "ce_signature" not in headers or "ce_signaturekey" not in headers:
        return "bad-signature", "not signed"
    try:
        signature = base64.b64decode(headers["ce_signature"], validate=True)
    except binascii.Error:
        return "bad-signature", "signature is not base64"
    if len(signature) != 64:
        return "bad-signature", "signature is not 64 bytes"
    key = keys.get(headers["ce_signaturekey"])
    if key is None or key.get("retired", False):
        return "unknown-key", f"key {headers['ce_signaturekey']} is not an active key of the directory"
    source = headers.get("ce_source", "")
    if source != "/offices/" + key["office"]:
        return "bad-signature", f"key of office {key['office']} on an event from {source}"
    if any(name not in headers for name in SIGNED):
        return "bad-signature", "a signed header is missing"
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["publicKey"]))
    try:
        public_key.verify(signature, canonical(headers, value))
    except InvalidSignature:
        return "bad-signature", "signature does not match"
    return None, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", required=True, help="the office key directory (JSON)")
    parser.add_argument("records", help="records to verify (JSON)")
    args = parser.parse_args()
    with open(args.keys) as handle:
        keys = {key["id"]: key for key in json.load(handle)["keys"]}
    with open(args.records) as handle:
        records = json.load(handle)
    for record in records:
        reason, detail = verify(record, keys)
        result = {"place": record["place"], "valid": reason is None}
        if reason:
            result.update(reason=reason, detail=detail)
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
