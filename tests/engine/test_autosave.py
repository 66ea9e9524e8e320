# SPDX-License-Identifier: MIT
"""Crash recovery with real processes: one killed with SIGKILL leaves a session to recover, one
that finishes leaves nothing, and a live one (this one included) is never offered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.autosave import (
    ENV_AUTOSAVE_DIR,
    Autosaver,
    default_directory,
    discard,
    find_recoverable,
)
from engine.history import Document
from engine.music import Note, Pattern, Track
from engine.project import Project, TrackState, load_project, save_project

REPO = Path(__file__).resolve().parents[2]

#: The editor in a child process: starts a session, autosaves the project it is given, says
#: so, then waits for a line on stdin and finishes cleanly (unless killed first).
CHILD = textwrap.dedent(
    """
    import sys
    from engine.autosave import Autosaver
    from engine.project import load_project

    directory, source, original = sys.argv[1:4]
    saver = Autosaver(directory)
    saver.start(original or None)
    saver.save(load_project(source))
    print(saver.session_id, flush=True)
    sys.stdin.readline()
    saver.finish()
    print("finished", flush=True)
    """
)


def project(*pitches: int) -> Project:
    notes = [Note(480 * i, 480, p) for i, p in enumerate(pitches)]
    document = Document(Pattern([Track("lead", notes=notes)]), seed=5)
    return Project(document, (TrackState(colour="#336699"),), (5, 9), {"zoom": 2})


class Editor:
    """A child process running :data:`CHILD`."""

    def __init__(self, directory: Path, source: Path, original: Path | None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(directory), str(source), str(original or "")],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.session_id = self.process.stdout.readline().strip()
        assert self.session_id, "the child editor did not start its session"

    @property
    def pid(self) -> int:
        return self.process.pid

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)


@pytest.fixture
def editors() -> Iterator[list[Editor]]:
    """Children started by a test; any left running are killed at the end."""
    started: list[Editor] = []
    yield started
    for editor in started:
        editor.close()


def start_editor(
    editors: list[Editor], directory: Path, saved: Project, original: Path | None = None
) -> Editor:
    source = directory.parent / f"source-{len(editors)}.barforge"
    save_project(saved, source)
    editor = Editor(directory, source, original)
    editors.append(editor)
    return editor


def session_files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


# --- crashes -----------------------------------------------------------------------------------


def test_a_killed_editor_leaves_exactly_its_session_to_recover(
    tmp_path: Path, editors: list[Editor]
) -> None:
    directory = tmp_path / "autosave"
    original = tmp_path / "songs" / "tune.barforge"
    saved = project(60, 62, 64)
    editor = start_editor(editors, directory, saved, original)
    editor.process.kill()  # SIGKILL: no chance to clean up
    editor.process.wait(timeout=30)

    (session,) = find_recoverable(directory)
    assert session.session_id == editor.session_id
    assert session.pid == editor.pid
    assert session.project_path == original
    assert session.error is None
    assert session.project == saved
    assert load_project(session.recovery_path) == saved
    assert abs(session.modified - session.recovery_path.stat().st_mtime) < 1e-6
    assert time.time() - session.modified < 300

    discard(session)
    assert session_files(directory) == []
    assert find_recoverable(directory) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombies are read from /proc")
def test_a_killed_editor_not_yet_reaped_counts_as_gone(
    tmp_path: Path, editors: list[Editor]
) -> None:
    directory = tmp_path / "autosave"
    editor = start_editor(editors, directory, project(60))
    os.kill(editor.pid, 9)
    deadline = time.monotonic() + 30
    stat = Path(f"/proc/{editor.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not die"
        time.sleep(0.01)
    (session,) = find_recoverable(directory)  # a zombie: its pid still exists
    assert session.pid == editor.pid
    assert session.project == project(60)


def test_an_unsaved_project_is_recovered_without_a_path(
    tmp_path: Path, editors: list[Editor]
) -> None:
    directory = tmp_path / "autosave"
    editor = start_editor(editors, directory, project(67))
    editor.close()
    (session,) = find_recoverable(directory)
    assert session.project_path is None
    assert session.project == project(67)


def test_a_corrupt_recovery_file_is_reported_not_raised(
    tmp_path: Path, editors: list[Editor]
) -> None:
    directory = tmp_path / "autosave"
    first = start_editor(editors, directory, project(60))
    second = start_editor(editors, directory, project(72))
    first.close()
    second.close()
    broken = directory / f"session-{first.session_id}.barforge"
    broken.write_bytes(b'{"format": "barforge-project", "version": 1, "pattern": ')
    sessions = {s.session_id: s for s in find_recoverable(directory)}
    assert set(sessions) == {first.session_id, second.session_id}
    damaged = sessions[first.session_id]
    assert damaged.project is None
    assert damaged.error is not None
    assert damaged.error.startswith("not JSON")
    assert damaged.recovery_path == broken
    assert sessions[second.session_id].project == project(72)
    assert sessions[second.session_id].error is None
    discard(damaged)
    assert [s.session_id for s in find_recoverable(directory)] == [second.session_id]


def test_a_damaged_marker_is_reported(tmp_path: Path, editors: list[Editor]) -> None:
    directory = tmp_path / "autosave"
    editor = start_editor(editors, directory, project(60))
    editor.close()
    (directory / f"session-{editor.session_id}.json").write_text("{oops", encoding="utf-8")
    (session,) = find_recoverable(directory)
    assert session.pid is None
    assert session.error is not None
    assert session.error.startswith("damaged marker: not JSON")
    assert session.project == project(60)  # the recovery file itself is fine


def test_sessions_are_listed_newest_first(tmp_path: Path, editors: list[Editor]) -> None:
    directory = tmp_path / "autosave"
    old = start_editor(editors, directory, project(60))
    new = start_editor(editors, directory, project(62))
    old.close()
    new.close()
    os.utime(directory / f"session-{old.session_id}.barforge", (1e9, 1e9))
    sessions = find_recoverable(directory)
    assert [s.session_id for s in sessions] == [new.session_id, old.session_id]
    assert sessions[1].modified == 1e9


def test_a_dead_session_that_never_saved_is_cleaned_up(tmp_path: Path) -> None:
    directory = tmp_path / "autosave"
    code = (
        "import sys, os; from engine.autosave import Autosaver; "
        "a = Autosaver(sys.argv[1]); a.start(); os._exit(0)"  # exits without finish or save
    )
    subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
        timeout=60,
    )
    assert len(session_files(directory)) == 1  # the marker
    assert find_recoverable(directory) == []
    assert session_files(directory) == []


# --- live and finished sessions ----------------------------------------------------------------


def test_a_live_editor_is_not_offered_and_a_finished_one_leaves_nothing(
    tmp_path: Path, editors: list[Editor]
) -> None:
    directory = tmp_path / "autosave"
    editor = start_editor(editors, directory, project(60))
    assert len(session_files(directory)) == 2  # marker and recovery file
    assert find_recoverable(directory) == []  # it still runs
    assert len(session_files(directory)) == 2  # and nothing of it was touched
    out, _ = editor.process.communicate("\n", timeout=30)
    assert editor.process.returncode == 0
    assert out.strip() == "finished"
    assert session_files(directory) == []
    assert find_recoverable(directory) == []


def test_this_process_session_is_never_offered(tmp_path: Path) -> None:
    directory = tmp_path / "autosave"
    saver = Autosaver(directory)
    saver.start(tmp_path / "song.barforge")
    assert saver.save(project(60))
    assert find_recoverable(directory) == []
    saver.finish()
    assert session_files(directory) == []


def marker_of(saver: Autosaver) -> dict[str, object]:
    assert saver.marker_path is not None
    data: dict[str, object] = json.loads(saver.marker_path.read_text(encoding="utf-8"))
    return data


def rewrite_marker(saver: Autosaver, **changes: object) -> None:
    assert saver.marker_path is not None
    data = {**marker_of(saver), **changes}
    saver.marker_path.write_text(json.dumps(data), encoding="utf-8")


def test_a_marker_from_before_the_last_boot_is_offered_though_its_pid_runs(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "autosave"
    saver = Autosaver(directory)
    saver.start()
    saver.save(project(60))
    if marker_of(saver)["boot_id"] is not None:
        rewrite_marker(saver, boot_id="00000000-0000-0000-0000-000000000000")
    else:  # no boot id here: the marker's time says it
        rewrite_marker(saver, started=0.0)
    (session,) = find_recoverable(directory)
    assert session.pid == os.getpid()
    assert session.project == project(60)
    saver.finish()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times come from /proc")
def test_a_pid_now_used_by_another_process_is_offered(tmp_path: Path) -> None:
    directory = tmp_path / "autosave"
    saver = Autosaver(directory)
    saver.start()
    saver.save(project(60))
    start = marker_of(saver)["process_start"]
    assert isinstance(start, int)
    rewrite_marker(saver, process_start=start + 1)  # "this pid belonged to someone else"
    assert [s.pid for s in find_recoverable(directory)] == [os.getpid()]
    saver.finish()


# --- the saver itself ------------------------------------------------------------------------


def test_save_writes_only_when_something_changed(tmp_path: Path) -> None:
    saver = Autosaver(tmp_path / "autosave")
    saver.start()
    path = saver.recovery_path
    assert path is not None
    first = project(60)
    assert saver.save(first)
    inode = path.stat().st_ino  # an atomic write replaces the file: a new inode
    assert not saver.save(first)
    assert not saver.save(
        Project(first.document, first.track_states, first.favourites, {"zoom": 2})
    )
    assert path.stat().st_ino == inode
    muted = Project(first.document, (TrackState(mute=True),), first.favourites, first.view)
    assert saver.save(muted)
    assert load_project(path) == muted
    # An equal document, but another object (as after an edit and its undo): written again.
    again = Project(project(60).document, muted.track_states, muted.favourites, muted.view)
    assert saver.save(again)
    first.view["zoom"] = 3  # the view edited in place
    assert saver.save(first)
    assert load_project(path).view == {"zoom": 3}
    assert saver.save(first, force=True)
    saver.finish()


def test_save_as_updates_the_marker(tmp_path: Path) -> None:
    saver = Autosaver(tmp_path / "autosave")
    saver.start()
    assert marker_of(saver)["project_path"] is None
    saver.project_path = tmp_path / "named.barforge"
    assert marker_of(saver)["project_path"] == str(tmp_path / "named.barforge")
    assert marker_of(saver)["pid"] == os.getpid()
    saver.finish()


def test_misuse_raises(tmp_path: Path) -> None:
    saver = Autosaver(tmp_path / "autosave")
    with pytest.raises(RuntimeError, match="start"):
        saver.save(project(60))
    saver.finish()  # nothing running: nothing to do
    saver.start()
    with pytest.raises(RuntimeError, match="already running"):
        saver.start()
    saver.finish()
    assert not saver.active
    assert saver.marker_path is None


def test_the_default_directory_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_AUTOSAVE_DIR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_directory() == tmp_path / "state" / "barforge" / "autosave"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_directory() == tmp_path / "home" / ".local" / "state" / "barforge" / "autosave"
    monkeypatch.setenv(ENV_AUTOSAVE_DIR, str(tmp_path / "mine"))
    assert default_directory() == tmp_path / "mine"
    saver = Autosaver()
    assert saver.directory == tmp_path / "mine"
    saver.start()
    assert saver.save(project(60))
    assert (tmp_path / "mine").is_dir()
    assert find_recoverable() == []
    saver.finish()


def test_a_missing_directory_has_nothing_to_recover(tmp_path: Path) -> None:
    assert find_recoverable(tmp_path / "never-made") == []
