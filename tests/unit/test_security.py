"""Security properties checked on the code itself, without running it.

- infra/iam/flowlake-policy.json grants exactly the S3 actions the pipeline needs, per area
  (raw read, warehouse read/write, reports write), with no action or resource wildcard beyond
  the placeholders' prefixes; every S3 call the code makes through boto3 is among them.
- No input reaches a shell: no `shell=True`, `os.system`, `os.popen`, `subprocess.getoutput`
  or `BashOperator` in jobs/, dags/ and infra/*.py; every command is an argument list.
- Report SQL is never built from strings: the reports package calls no `spark.sql`, `expr`,
  `selectExpr` or string `where`/`filter`; it uses the DataFrame API only.
- Report recipients: an address that hides a second one (`a@evil.org, b@example.org`) is
  refused by the allow-list.

  .venv/bin/python -m pytest tests/unit/test_security.py
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from flowlake.config import ReportSettings, recipient_allowed

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "infra" / "iam" / "flowlake-policy.json"

# What S3A does for Delta (Hadoop's "S3A: minimal permissions"): list and read everywhere it
# reads; put, delete (renames and VACUUM) and abort multipart uploads where it writes.
S3A_READ = {"s3:ListBucket", "s3:GetObject"}
S3A_WRITE = S3A_READ | {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}
# The reports are delivered with boto3 (flowlake.storage): put the files, get delivery.json,
# list the folder for the index page.
REPORTS = {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}
EXPECTED = {"RAW": S3A_READ, "WAREHOUSE": S3A_WRITE, "REPORTS": REPORTS}
# S3 API operations whose IAM action has another name.
IAM_ACTION_OF = {"ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "HeadObject": "s3:GetObject",
                 "HeadBucket": "s3:ListBucket", "DeleteObjects": "s3:DeleteObject",
                 "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
                 "CompleteMultipartUpload": "s3:PutObject"}


def python_files(*paths: str):
    for path in paths:
        target = ROOT / path
        yield from ([target] if target.is_file() else sorted(target.rglob("*.py")))


def calls(files):
    """(file, line, called name, call node) for every call in `files`."""
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
                yield path.relative_to(ROOT), node.lineno, f"{owner}.{name}" if owner else name, node


def statements_by_area() -> dict[str, list[dict]]:
    areas: dict[str, list[dict]] = {}
    for statement in json.loads(POLICY.read_text())["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        area = {r.split(":::")[1].split("_")[0] for r in resources}
        assert len(area) == 1, statement
        areas.setdefault(area.pop(), []).append(statement)
    return areas


def test_iam_policy_grants_exactly_the_actions_each_area_needs():
    areas = statements_by_area()
    assert set(areas) == set(EXPECTED)
    for area, statements in areas.items():
        granted = {action for s in statements for action in s["Action"]}
        assert granted == EXPECTED[area], area
        for statement in statements:
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            assert not any("*" in action for action in statement["Action"]), statement["Sid"]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            bucket, prefix = f"arn:aws:s3:::{area}_BUCKET", f"{area}_PREFIX"
            if statement["Action"] == ["s3:ListBucket"]:
                # Listing is granted on the bucket, narrowed to the prefix by a condition.
                assert resources == [bucket]
                assert statement["Condition"] == {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}
            else:
                assert resources == [f"{bucket}/{prefix}", f"{bucket}/{prefix}/*"], statement["Sid"]


def test_every_boto3_s3_call_in_the_code_is_granted_by_the_policy():
    import boto3

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    operations = client.meta.method_to_api_mapping
    used = set()
    for _, _, name, node in calls(python_files("jobs", "dags")):
        method = name.rsplit(".", 1)[-1]
        if method == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
            method = node.args[0].value
        if method in operations:
            used.add(IAM_ACTION_OF.get(operations[method], f"s3:{operations[method]}"))
    # DeleteObject: the writer lease (flowlake.lease), which lives below the warehouse prefix.
    assert used == {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    granted = {action for statements in statements_by_area().values() for s in statements for action in s["Action"]}
    assert used <= granted


SHELL_CALLS = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
               "asyncio.create_subprocess_shell", "pty.spawn"}


def test_no_input_reaches_a_shell():
    files = list(python_files("jobs", "dags")) + sorted((ROOT / "infra").glob("*.py"))
    findings = []
    for path, line, name, node in calls(files):
        if name in SHELL_CALLS or name.endswith("BashOperator"):
            findings.append(f"{path}:{line}: {name}")
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                findings.append(f"{path}:{line}: {name}(shell=...)")
            if keyword.arg == "bash_command":
                findings.append(f"{path}:{line}: bash_command")
    for path in files:
        if "BashOperator" in path.read_text():
            findings.append(f"{path.relative_to(ROOT)}: imports BashOperator")
    assert findings == []


def test_report_sql_is_never_built_from_strings():
    findings = []
    for path, line, name, node in calls(python_files("jobs/flowlake/reports")):
        method = name.rsplit(".", 1)[-1]
        string_argument = node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)) \
            and not (isinstance(node.args[0], ast.Constant) and not isinstance(node.args[0].value, str))
        if method in ("sql", "expr", "selectExpr") or (method in ("where", "filter") and string_argument):
            findings.append(f"{path}:{line}: {name}")
    assert findings == []


@pytest.mark.parametrize("address", ["eve@evil.org, analyst@example.org", "Eve <eve@evil.org>;a@example.org",
                                     "eve@evil.org@example.org", "eve@evil.org\nBcc: a@example.org"])
def test_a_recipient_hiding_another_address_is_refused(address):
    assert not recipient_allowed(address, ("@example.org",))
    with pytest.raises(ValueError, match="not in allowed_recipients"):
        ReportSettings(recipients=(address,), allowed_recipients=("@example.org",))
