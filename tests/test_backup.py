"""`claimbot backup` while the server takes claims, then the restore procedure of docs/operations.md, step by step.

docs/operations.md, "Backup and restore", lists the commands; `BACKUP_STEPS` and
`RESTORE_STEPS` below are the same commands, run here in a shell against a server in its own process
(`python -m tests._reliability_support`, the real app and store with the model doubles).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client

from tests._reliability_support import (
    DESCRIPTION,
    LoadRun,
    ServerProcess,
    claim_problems,
    connect,
    foreign_key_problems,
    run_load,
    seed_orders,
    write_photos,
)
from tests._ui_support import REPO

pytestmark = pytest.mark.slow

JOBS = 24
# The documented commands; {claimbot} is the console script, {python} the interpreter that has claimbot installed.
BACKUP_STEPS = ["{claimbot} backup backups/claims.db --data data", "cp -a data/photos backups/"]
RESTORE_STEPS = [
    "mkdir restored",
    "cp backups/claims.db restored/claims.db",
    "cp -a backups/photos restored/",
    "{python} -c \"import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check')"
    '.fetchone()[0])" restored/claims.db',
]


def _run(step: str, cwd: Path) -> str:
    script = Path(sys.executable).parent / "claimbot"
    claimbot = str(script) if script.is_file() else f"{sys.executable} -m ui.cli"
    command = step.format(claimbot=claimbot, python=sys.executable)
    done = subprocess.run(
        command,
        shell=True,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(cwd)},
    )
    assert done.returncode == 0, (step, done.stdout, done.stderr)
    return done.stdout


def test_the_operations_page_lists_exactly_the_steps_this_test_follows():
    readme = (REPO / "docs" / "operations.md").read_text()
    section = readme.split("<!-- section:reliability -->")[1].split("<!-- /section:reliability -->")[0]
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))
    for step in BACKUP_STEPS + RESTORE_STEPS:
        shown = step.format(claimbot="claimbot", python="python")
        assert shown in blocks, shown


def test_backup_while_serving_then_restore_gives_back_every_claim_answered_before_it(tmp_path):
    work = tmp_path
    data = work / "data"
    (work / "backups").mkdir()
    orders = seed_orders(data / "claims.db", JOBS, prefix="BACKUP")
    photos = iter(write_photos(work / "upload", JOBS, start=20_000))
    jobs = [(order, email, f"{DESCRIPTION} (backup {i})", [next(photos)]) for i, (order, email) in enumerate(orders)]

    server = ServerProcess(data).start()
    try:
        run = LoadRun()
        loader = threading.Thread(target=run_load, args=(server.url, jobs, 4, None, run))
        loader.start()
        deadline = time.monotonic() + 120
        while len(run.answers) < JOBS // 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        answered_before = dict(run.answers)
        assert len(answered_before) >= JOBS // 4
        outputs = [_run(step, work) for step in BACKUP_STEPS]  # while the load goes on
        assert "Backed up" in outputs[0]
        loader.join(timeout=180)
        assert run.errors == {}  # no client saw "database is locked" or anything else
        assert len(run.answers) == JOBS
    finally:
        server.stop()

    # The restore, on a machine where the server is stopped.
    outputs = [_run(step, work) for step in RESTORE_STEPS]
    assert outputs[-1].strip() == "ok"
    restored = work / "restored"
    assert foreign_key_problems(restored / "claims.db") == []
    with connect(restored / "claims.db") as conn:
        in_backup = [r[0] for r in conn.execute("SELECT claim_id FROM claims WHERE order_id LIKE 'BACKUP-%'")]
    assert len(answered_before) <= len(in_backup) <= JOBS
    assert {a["claim_id"] for a in answered_before.values()} <= set(in_backup)
    problems = [
        p
        for claim_id in in_backup
        for p in claim_problems(restored / "claims.db", restored / "photos", claim_id, expected_photos=1)
    ]
    assert problems == []

    server = ServerProcess(restored).start()
    try:
        client = Client(server.url + "/", verbose=False)
        for answer in answered_before.values():
            status = client.predict(answer["claim_id"], answer["access_token"], api_name="/claim_status")
            assert (status["status"], status["photos"]) == (answer["status"], answer["photos"])
        client.close()
    finally:
        server.stop()
