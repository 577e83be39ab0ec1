"""Encryption in transit: the loader, dbt and the backup take sslmode and the root certificate
from the environment (ELT_PG_SSLMODE, ELT_PG_SSLROOTCERT), tested against the local server
with TLS switched on and a certificate authority this test makes.

verify-full succeeds with the right root certificate and fails with another; the server is
put back as it was afterwards. Needs the server on this machine and root (to hand the key
to the server's owner); skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import pg_settings, run_elt
from elt.tests.dbt_runner import dbt

pytestmark = pytest.mark.postgres


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_authority(folder: Path, name: str) -> None:
    """A self-signed root certificate <name>.crt with its key <name>.key."""
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        cwd=folder,
    )


@pytest.fixture
def tls_server(postgres_available: None, tmp_path: Path) -> Iterator[Path]:
    """TLS on the local server, with a server certificate for 127.0.0.1 signed by a new CA;
    yields the folder holding ca.crt (right) and other.crt (a CA that signed nothing)."""
    s = pg_settings()
    if s["host"] not in ("127.0.0.1", "localhost") or os.geteuid() != 0:
        pytest.skip("needs the PostgreSQL server on this machine and root to give it a certificate")
    admin = psycopg2.connect(dbname="postgres", **s)
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("show data_directory")
    data_dir = Path(cur.fetchone()[0])
    owner = pwd.getpwuid(data_dir.stat().st_uid)
    server_dir = data_dir.parent / f"elt-test-tls-{uuid.uuid4().hex[:8]}"
    server_dir.mkdir()
    make_authority(tmp_path, "ca")
    make_authority(tmp_path, "other")
    (tmp_path / "san.cnf").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=tmp_path,
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.crt",
        cwd=tmp_path,
    )
    for name in ("server.crt", "server.key"):
        shutil.copy(tmp_path / name, server_dir / name)
        os.chown(server_dir / name, owner.pw_uid, owner.pw_gid)
    os.chmod(server_dir / "server.key", 0o600)
    os.chown(server_dir, owner.pw_uid, owner.pw_gid)
    cur.execute("show ssl")
    was_on = cur.fetchone() == ("on",)
    try:
        cur.execute("alter system set ssl_cert_file = %s", [str(server_dir / "server.crt")])
        cur.execute("alter system set ssl_key_file = %s", [str(server_dir / "server.key")])
        cur.execute("alter system set ssl = on")
        cur.execute("select pg_reload_conf()")
        probe = psycopg2.connect(
            dbname="postgres", sslmode="verify-full", sslrootcert=str(tmp_path / "ca.crt"), **s
        )
        with probe.cursor() as p:
            p.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
            assert p.fetchone() == (True,)
        probe.close()
        yield tmp_path
    finally:
        for setting in ("ssl_cert_file", "ssl_key_file", "ssl"):
            cur.execute(f"alter system reset {setting}")
        if was_on:
            cur.execute("alter system set ssl = on")
        cur.execute("select pg_reload_conf()")
        admin.close()
        shutil.rmtree(server_dir, ignore_errors=True)


def test_loader_dbt_and_backup_verify_the_server_certificate(
    tls_server: Path, pg_database: str, tmp_path: Path
) -> None:
    generate(
        tmp_path / "data", GeneratorConfig(scale=0.002, seed=1, start=dt.date(2025, 3, 3)), days=1
    )
    right = {
        "ELT_PG_SSLMODE": "verify-full",
        "ELT_PG_SSLROOTCERT": str(tls_server / "ca.crt"),
        "ELT_PG_DATABASE": pg_database,
    }
    wrong = {**right, "ELT_PG_SSLROOTCERT": str(tls_server / "other.crt")}

    plain = dbt(tmp_path, "postgres", "debug", database=pg_database)  # default: prefer
    assert plain.returncode == 0, plain.stdout[-2000:]
    os.environ.update(wrong)
    try:
        bad = dbt(tmp_path, "postgres", "debug", database=pg_database)
        assert bad.returncode != 0
        assert "certificate verify failed" in bad.stdout
        os.environ.update(right)
        good = dbt(tmp_path, "postgres", "debug", database=pg_database)
        assert good.returncode == 0, good.stdout[-2000:]
        assert "OK connection ok" in good.stdout
    finally:
        for name in right:
            if name != "ELT_PG_DATABASE":
                os.environ.pop(name, None)

    s = pg_settings()
    login = {"ELT_PG_LOADER_USER": s["user"], "ELT_PG_LOADER_PASSWORD": s["password"]}
    data = str(tmp_path / "data")

    def load(tls: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run_elt(
            "load",
            "--target",
            "postgres_loader",
            "--data-dir",
            data,
            "--quiet",
            env={**tls, **login},
        )

    def backup(tls: dict[str, str], folder: str) -> subprocess.CompletedProcess[str]:
        return run_elt(
            "backup",
            "--target",
            "postgres",
            "--to",
            str(tmp_path / folder),
            env={**tls, "ELT_PG_ADMIN_USER": s["user"]},
        )

    load_bad = load(wrong)
    assert load_bad.returncode == 2, load_bad.stderr[-2000:]
    assert "certificate verify failed" in load_bad.stderr
    load_good = load(right)
    assert load_good.returncode == 0, load_good.stderr[-2000:]

    backup_bad = backup(wrong, "b1")
    assert backup_bad.returncode == 2
    assert "certificate verify failed" in backup_bad.stderr
    backup_good = backup(right, "b2")
    assert backup_good.returncode == 0, backup_good.stderr[-2000:]
