"""Schemathesis hooks for scripts/api-fuzz (loaded through SCHEMATHESIS_HOOKS).

- The string format `citizen-id` (used by both offices' OpenAPI documents): 18-character
  citizen ID numbers with a correct GB 11643 check character, so generated "valid" data is valid.
- Check `problem_documents`: every 4xx is an RFC 9457 problem document whose `status` is the
  response's, and a 400 or 422 names the request `field` at fault.
- Check `rejected_requests_change_nothing`: after a 4xx answer the office's domain tables are
  exactly as they were before the request (FUZZ_DATABASE names the SQLite file, FUZZ_TABLES the
  tables; requests run one at a time, and nothing else writes them during the run).
"""
import hashlib
import os
import sqlite3

import schemathesis
from hypothesis import strategies as st

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
AREAS = ["440300", "510100", "330100", "110000", "310000", "420100"]


def check_character(first17):
    return "10X98765432"[sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS)) % 11]


@st.composite
def citizen_ids(draw):
    area = draw(st.sampled_from(AREAS))
    year = draw(st.integers(1950, 2005))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    sequence = draw(st.integers(0, 999))
    first17 = f"{area}{year:04d}{month:02d}{day:02d}{sequence:03d}"
    return first17 + check_character(first17)


schemathesis.openapi.format("citizen-id", citizen_ids())


@schemathesis.check
def problem_documents(ctx, response, case):
    if not 400 <= response.status_code < 500:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/problem+json"):
        raise AssertionError(f"a {response.status_code} that is not a problem document ({content_type})")
    body = response.json()
    if body.get("status") != response.status_code or not body.get("title") or not body.get("detail"):
        raise AssertionError(f"a problem document without status, title and detail: {body}")
    if response.status_code in (400, 422) and not body.get("field"):
        raise AssertionError(f"a {response.status_code} that names no field: {body}")


_last = {}


def _fingerprint():
    path = os.environ.get("FUZZ_DATABASE")
    if not path or not os.path.exists(path):
        return None
    digest = hashlib.sha256()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        for table in os.environ.get("FUZZ_TABLES", "").split(","):
            if table:
                for row in connection.execute(f"SELECT * FROM {table} ORDER BY 1"):
                    digest.update(repr(row).encode())
    finally:
        connection.close()
    return digest.hexdigest()


@schemathesis.check
def rejected_requests_change_nothing(ctx, response, case):
    now = _fingerprint()
    before = _last.get("fingerprint")
    _last["fingerprint"] = now
    if before is not None and now != before and 400 <= response.status_code < 500:
        raise AssertionError(f"a rejected request ({response.status_code}) changed the database")
