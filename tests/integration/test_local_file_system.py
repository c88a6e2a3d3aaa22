"""flowlake's file:// file system (infra/hadoop, `make setup`): the one every local-mode session
uses, for Spark's files and Delta's commits alike, and it answers as Hadoop's own would.

Hadoop's own runs a `chmod` process for each file and directory and a `readlink` for each
commit's rename; ours does both in the JVM. Each case is done by both, side by side in fresh
folders, and the results compared, with what was asked for.
"""

from __future__ import annotations

import os
import stat

import pytest

from flowlake.session import LOCAL_FILE_CONTEXT, LOCAL_FILE_SYSTEM


@pytest.fixture(scope="module")
def file_systems(spark):
    """(ours, Hadoop's LocalFileSystem) on the session's Hadoop configuration."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    root = jvm.java.net.URI("file:///")
    hadoops = jvm.org.apache.hadoop.fs.LocalFileSystem()
    hadoops.initialize(root, conf)
    return jvm.org.apache.hadoop.fs.FileSystem.get(root, conf), hadoops


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_sessions_write_local_disk_through_flowlakes_file_system(spark, file_systems):
    ours, _ = file_systems
    assert ours.getClass().getName() == LOCAL_FILE_SYSTEM
    commits = spark._jvm.org.apache.hadoop.fs.FileContext.getFileContext(
        spark._jvm.java.net.URI("file:///"), spark._jsc.hadoopConfiguration())
    assert commits.getDefaultFileSystem().getClass().getName() == LOCAL_FILE_CONTEXT


@pytest.mark.parametrize("asked", [0o600, 0o640, 0o644, 0o750, 0o755, 0o444, 0o000])
def test_a_mode_set_is_the_mode_hadoop_sets(spark, file_systems, tmp_path, asked):
    jvm = spark._jvm
    modes = []
    for name, fs in zip(("ours", "hadoops"), file_systems):
        path = tmp_path / name / "part-0.parquet"
        fs.create(jvm.org.apache.hadoop.fs.Path(f"file://{path}")).close()
        fs.setPermission(jvm.org.apache.hadoop.fs.Path(f"file://{path}"),
                         jvm.org.apache.hadoop.fs.permission.FsPermission(f"{asked:03o}"))
        modes.append(mode(path))
    assert modes == [asked, asked]


def test_created_files_checksums_and_directories_get_hadoops_modes(spark, file_systems, tmp_path):
    jvm = spark._jvm
    modes = {}
    for name, fs in zip(("ours", "hadoops"), file_systems):
        folder = tmp_path / name
        fs.mkdirs(jvm.org.apache.hadoop.fs.Path(f"file://{folder}/day=2017-07-01"),
                  jvm.org.apache.hadoop.fs.permission.FsPermission("750"))
        out = fs.create(jvm.org.apache.hadoop.fs.Path(f"file://{folder}/day=2017-07-02/part-0.parquet"))
        out.write(b"PAR1")
        out.close()
        modes[name] = {str(p.relative_to(folder)): mode(p) for p in sorted(folder.rglob("*"))}
    assert modes["ours"] == modes["hadoops"]
    assert set(modes["ours"]) == {"day=2017-07-01", "day=2017-07-02", "day=2017-07-02/part-0.parquet",
                                  "day=2017-07-02/.part-0.parquet.crc"}


def test_a_missing_file_is_an_error_naming_it(spark, file_systems, tmp_path):
    jvm = spark._jvm
    ours, _ = file_systems
    missing = tmp_path / "gone.parquet"
    with pytest.raises(Exception, match="gone.parquet"):
        ours.setPermission(jvm.org.apache.hadoop.fs.Path(f"file://{missing}"),
                           jvm.org.apache.hadoop.fs.permission.FsPermission("644"))


def test_link_status_of_files_and_links_is_hadoops(spark, file_systems, tmp_path):
    jvm = spark._jvm
    (tmp_path / "00000.json").write_text("{}")
    (tmp_path / "latest.json").symlink_to(tmp_path / "00000.json")
    answers = []
    for fs in file_systems:
        statuses = [fs.getFileLinkStatus(jvm.org.apache.hadoop.fs.Path(f"file://{tmp_path}/{name}"))
                    for name in ("00000.json", "latest.json")]
        answers.append([(s.isFile(), s.isSymlink(), s.getLen(), s.getPath().getName()) for s in statuses])
    assert answers[0] == answers[1]
    assert answers[0][0] == (True, False, 2, "00000.json")
