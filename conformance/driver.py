"""Run the public SCIM conformance checker scim2-tester against a server.

scim2-tester is a library without a command of its own: this script builds the scim2-client
sync client (httpx2) for a base URL with a bearer token, lets ``check_server`` discover the
server (ServiceProviderConfig, ResourceTypes, Schemas) and run its checks, and prints one JSON
object per check result on stdout:

    {"id": "User/check_add_attribute[nickName]", "category": "patch:add",
     "tags": ["patch:add"], "resource_type": "User", "name": "check_add_attribute",
     "urn": "nickName", "status": "success", "outcome": "pass", "reason": "...",
     "detail": null}

``id`` is what ``conformance/allowlist.txt`` names; ``status`` is scim2-tester's own status
(success, compliant, acceptable, deviation, error, critical, skipped) and ``outcome`` folds it
into pass, fail or skip. Diagnostics go to stderr.

Exit status: 0 when every check passed or was skipped, 1 when a check failed, 2 when the
checker could not be run at all (bad arguments, missing packages, an internal crash).

    python driver.py --url http://127.0.0.1:8080/scim/v2 --token TOKEN

The token may instead come from the SCIM_CONFORMANCE_TOKEN environment variable, which keeps
it out of the process list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_NOT_RUN = 2

TOKEN_ENV = "SCIM_CONFORMANCE_TOKEN"

# scim2-tester's statuses, by the outcome they mean for this project. SHOULD-level deviations
# count as failures: the allowlist, with its reason, is where an accepted one is recorded.
OUTCOMES = {
    "success": "pass",
    "compliant": "pass",
    "acceptable": "pass",
    "deviation": "fail",
    "error": "fail",
    "critical": "fail",
    "skipped": "skip",
}

# Enough of a failing check's debugging data to see what the server answered, without
# flooding the report with whole schema listings.
DETAIL_LIMIT = 1000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run scim2-tester against a SCIM server and print JSON lines."
    )
    parser.add_argument(
        "--url", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"bearer token (default: ${TOKEN_ENV}; none sends no Authorization header)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        help="seconds allowed for each HTTP request (default 30)",
    )
    parser.add_argument(
        "--include-tag",
        action="append",
        default=[],
        help="run only checks with this tag (repeatable; e.g. discovery, crud:read, patch)",
    )
    parser.add_argument(
        "--exclude-tag",
        action="append",
        default=[],
        help="skip checks with this tag (repeatable)",
    )
    parser.add_argument(
        "--resource-type",
        action="append",
        default=[],
        help="check only this resource type (repeatable; e.g. User)",
    )
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url {args.url!r} is not an http:// or https:// URL")
    return args


def category(tags: list[str]) -> str:
    """Name the family a check belongs to from its scim2-tester tags.

    Discovery checks carry ``discovery`` beside the endpoint they cover, so both are kept
    (``discovery:schemas``); other checks carry one hierarchical tag (``crud:read``,
    ``patch:add``, ``misc``). ``*`` only marks checks that ignore tag filtering.
    """
    named = sorted(tag for tag in tags if tag != "*")
    if not named:
        return "uncategorised"
    if "discovery" in named and len(named) > 1:
        return "discovery:" + ",".join(tag for tag in named if tag != "discovery")
    return ",".join(named)


def short(value: Any) -> str | None:
    if value is None:
        return None
    dump = getattr(value, "model_dump_json", None)
    if callable(dump):
        try:
            text = dump(exclude_none=True)
        except Exception:  # a half-built model still deserves a repr
            text = repr(value)
    elif isinstance(value, str):
        text = value
    elif hasattr(value, "status_code") and hasattr(value, "text"):
        # A raw HTTP response, kept by the checks that probe unsupported methods.
        text = f"HTTP {value.status_code}: {value.text}"
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=repr, ensure_ascii=False)
    else:
        text = repr(value)
    if len(text) > DETAIL_LIMIT:
        text = text[:DETAIL_LIMIT] + "…"
    return text


def record(result: Any) -> dict[str, Any]:
    """Turn a scim2-tester CheckResult into the JSON object printed for it."""
    status = result.status.name.lower()
    outcome = OUTCOMES.get(status, "fail")
    tags = sorted(result.tags or [])
    name = result.title or "unnamed"
    data = result.data
    # PATCH checks report one result per attribute path; naming it lets the allowlist
    # accept one attribute without hiding the others.
    urn = data.get("urn") if isinstance(data, dict) else None
    ident = f"{result.resource_type}/{name}" if result.resource_type else name
    if urn:
        ident += f"[{urn}]"
    return {
        "id": ident,
        "category": category(tags),
        "tags": tags,
        "resource_type": result.resource_type,
        "name": name,
        "urn": urn,
        "status": status,
        "outcome": outcome,
        "reason": result.reason,
        "detail": short(data) if outcome == "fail" else None,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        from httpx2 import Client
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import check_server
    except ImportError as exc:
        print(
            f"driver: cannot import the checker ({exc}); install conformance/requirements.txt",
            file=sys.stderr,
        )
        return EXIT_NOT_RUN

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    http = Client(base_url=args.url, headers=headers, timeout=args.request_timeout)
    # No discovery here: check_server queries ServiceProviderConfig, ResourceTypes and
    # Schemas itself, reports each as a check, and describes the server on the client from
    # what they publish. Discovering first would turn a broken discovery endpoint into a
    # crash of this script instead of failed checks.
    client = SyncSCIMClient(http)
    try:
        results = check_server(
            client,
            include_tags=set(args.include_tag) or None,
            exclude_tags=set(args.exclude_tag) or None,
            resource_types=args.resource_type or None,
        )
    except Exception:
        # check_server turns what goes wrong inside a check into a result; anything reaching
        # here is a bug of the checker or of this script, not a verdict on the server.
        print("driver: scim2-tester crashed:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return EXIT_NOT_RUN
    finally:
        http.close()

    failed = False
    for result in results:
        line = record(result)
        failed = failed or line["outcome"] == "fail"
        print(json.dumps(line, ensure_ascii=False))
    sys.stdout.flush()
    return EXIT_FAILED if failed else EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
