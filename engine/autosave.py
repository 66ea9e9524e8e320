# SPDX-License-Identifier: MIT
"""Crash recovery: the app saves the open project now and then to a private folder, and the
next start offers whatever a crashed session left behind. No Qt here; the app drives it from a
timer.

Each running session owns two files in the autosave folder (see :func:`default_directory`):

- ``session-<id>.json``, the *marker*, written by :meth:`Autosaver.start`: this process's id,
  what identifies the process beyond its pid (its start time and the boot it runs in, where the
  system tells), and the path of the project being edited;
- ``session-<id>.barforge``, the *recovery file*, a project file (``docs/project-format.md``)
  written by :meth:`Autosaver.save`.

Both are written atomically, the marker always before the first recovery file; a clean exit
(:meth:`Autosaver.finish`) removes the recovery file and then the marker. So a recovery file
whose marker names a process that is gone is what a crash left, and :func:`find_recoverable`
offers it. A session is gone when its process is not running (a zombie counts as gone), when
its pid now belongs to a process that started at another time (Linux), or when the marker is
from before the last boot. The session of a live process, this one included, is never offered.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomic import write_bytes_atomically
from engine.history import Document
from engine.project import Project, ProjectFileError, load_project, save_project

#: Environment variable naming the autosave folder (overrides the default).
ENV_AUTOSAVE_DIR = "BARFORGE_AUTOSAVE_DIR"
#: The ``"format"`` value of a session marker.
MARKER_FORMAT = "barforge-autosave-session"
MARKER_VERSION = 1
#: Markers are small; anything larger is not one.
_MAX_MARKER_BYTES = 64 * 1024
#: Slack in seconds when comparing a marker's wall-clock time with the boot time (systems
#: without a boot id only; the boot time moves a little with clock corrections).
_BOOT_SLACK_SEC = 300.0
_SESSION_ID = re.compile(r"[0-9]+-[0-9a-f]{8}")


def default_directory() -> Path:
    """The autosave folder: ``$BARFORGE_AUTOSAVE_DIR`` if set, else
    ``$XDG_STATE_HOME/barforge/autosave`` (when ``XDG_STATE_HOME`` is an absolute path), else
    ``~/.local/state/barforge/autosave``."""
    override = os.environ.get(ENV_AUTOSAVE_DIR)
    if override:
        return Path(override).expanduser()
    state_home = os.environ.get("XDG_STATE_HOME", "")
    if state_home and os.path.isabs(state_home):
        base = Path(state_home)
    else:
        base = Path.home() / ".local" / "state"
    return base / "barforge" / "autosave"


def _marker_name(session_id: str) -> str:
    return f"session-{session_id}.json"


def _recovery_name(session_id: str) -> str:
    return f"session-{session_id}.barforge"


@dataclass(frozen=True, slots=True)
class RecoverableSession:
    """What a crashed session left behind, as :func:`find_recoverable` reports it.

    Attributes
    ----------
    session_id : str
        Names the session's files in the autosave folder.
    pid : int or None
        The process the session ran in, or None when its marker is missing or damaged.
    marker_path : Path
        The session marker (it may be missing for a recovery file whose marker was deleted).
    recovery_path : Path
        The recovery file: a project file.
    project_path : Path or None
        The project file the session was editing, or None for an unsaved project (or when the
        marker is missing or damaged).
    modified : float
        When the recovery file was last written, in seconds since the epoch.
    project : Project or None
        The recovered project, or None when the recovery file cannot be read.
    error : str or None
        Why the recovery file (or the marker) cannot be read, or None when all is well.
    """

    session_id: str
    pid: int | None
    marker_path: Path
    recovery_path: Path
    project_path: Path | None
    modified: float
    project: Project | None
    error: str | None


class Autosaver:
    """Saves the open project for crash recovery, one session per running editor.

    Parameters
    ----------
    directory : path-like or None
        The autosave folder; None for :func:`default_directory`. It is created (private to the
        user) by :meth:`start`.

    Notes
    -----
    Typical use: ``start(path)`` when a project is opened, ``save(project)`` from a timer (it
    writes only when something changed), ``project_path = new`` after Save As, and ``finish()``
    on a clean exit or once the project is saved and closed.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._directory = default_directory() if directory is None else Path(directory)
        self._session_id: str | None = None
        self._project_path: Path | None = None
        self._saved_document: Document | None = None
        self._saved_rest: tuple[Any, ...] | None = None

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def active(self) -> bool:
        """Whether a session is running: between :meth:`start` and :meth:`finish`."""
        return self._session_id is not None

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def marker_path(self) -> Path | None:
        """The running session's marker, or None when none runs."""
        sid = self._session_id
        return None if sid is None else self._directory / _marker_name(sid)

    @property
    def recovery_path(self) -> Path | None:
        """Where the running session's recovery file goes, or None when none runs."""
        sid = self._session_id
        return None if sid is None else self._directory / _recovery_name(sid)

    @property
    def project_path(self) -> Path | None:
        """The project file being edited (None: not saved yet). Setting it while a session
        runs rewrites the marker, so a recovery names the right file after Save As."""
        return self._project_path

    @project_path.setter
    def project_path(self, path: str | os.PathLike[str] | None) -> None:
        self._project_path = None if path is None else Path(path).absolute()
        if self._session_id is not None:
            self._write_marker()

    def start(self, project_path: str | os.PathLike[str] | None = None) -> None:
        """Begin a session: write its marker, naming this process and ``project_path``.

        Raises
        ------
        RuntimeError
            When a session is already running (call :meth:`finish` first).
        OSError
            When the folder or the marker cannot be written.
        """
        if self._session_id is not None:
            raise RuntimeError("Autosaver.start: a session is already running; finish it first")
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._project_path = None if project_path is None else Path(project_path).absolute()
        self._session_id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._saved_document = self._saved_rest = None
        try:
            self._write_marker()
        except BaseException:
            self._session_id = None
            raise

    def _write_marker(self) -> None:
        marker = {
            "format": MARKER_FORMAT,
            "version": MARKER_VERSION,
            "pid": os.getpid(),
            "process_start": _process_start(os.getpid()),
            "boot_id": _boot_id(),
            "started": time.time(),
            "project_path": None if self._project_path is None else str(self._project_path),
        }
        path = self.marker_path
        assert path is not None
        write_bytes_atomically(path, (json.dumps(marker, indent=2) + "\n").encode("utf-8"))

    def save(self, project: Project, *, force: bool = False) -> bool:
        """Write ``project`` to the recovery file, atomically, if it changed since the last save.

        "Changed" is judged cheaply: another document object (documents are immutable, so the
        history hands over a new one for every edit), or other track states, favourites, ideas
        or view.

        Parameters
        ----------
        project : Project
        force : bool
            Write even when nothing changed.

        Returns
        -------
        bool
            Whether the file was written.

        Raises
        ------
        RuntimeError
            When no session runs (call :meth:`start` first).
        ProjectFileError
            When the file cannot be written; the previous recovery file is left as it was.
        """
        path = self.recovery_path
        if path is None:
            raise RuntimeError("Autosaver.save: no session is running; call start first")
        rest = _rest_token(project)
        if (
            not force
            and project.document is self._saved_document
            and rest is not None
            and rest == self._saved_rest
        ):
            return False
        save_project(project, path)
        self._saved_document = project.document
        self._saved_rest = rest
        return True

    def finish(self) -> None:
        """End the session cleanly: remove the recovery file, then the marker. Doing so when
        no session runs does nothing."""
        sid = self._session_id
        if sid is None:
            return
        _remove_session_files(self._directory, sid)
        self._session_id = None
        self._saved_document = self._saved_rest = None


def _rest_token(project: Project) -> tuple[Any, ...] | None:
    """What besides the document decides whether a project changed; None when the view cannot
    be encoded (the save will say why)."""
    try:
        view = json.dumps(project.view, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return (project.track_states, project.favourites, project.ideas, project.adopted, view)


def _remove_session_files(directory: Path, session_id: str) -> None:
    """Remove a session's recovery file, then its marker, then temporary files left by an
    interrupted atomic write."""
    (directory / _recovery_name(session_id)).unlink(missing_ok=True)
    (directory / _marker_name(session_id)).unlink(missing_ok=True)
    for leftover in directory.glob(f".session-{session_id}.*.tmp"):
        leftover.unlink(missing_ok=True)


# --- finding what crashed sessions left --------------------------------------------------------


def find_recoverable(directory: str | os.PathLike[str] | None = None) -> list[RecoverableSession]:
    """The sessions in ``directory`` (default: :func:`default_directory`) whose process is gone
    and which left a recovery file, newest first.

    Each recovery file is read here: a damaged one is reported in the session's ``error`` (and
    its ``project`` is None) rather than raised, so the app can offer to discard it. A dead
    session that left no recovery file (it crashed before its first save) has its marker
    removed. A recovery file whose marker is gone is offered too, with ``pid`` None.
    """
    folder = default_directory() if directory is None else Path(directory)
    found: list[RecoverableSession] = []
    try:
        markers = sorted(folder.glob("session-*.json"))
    except OSError:
        return []
    seen: set[str] = set()
    for marker in markers:
        sid = marker.name[len("session-") : -len(".json")]
        if not _SESSION_ID.fullmatch(sid):
            continue
        seen.add(sid)
        recovery = folder / _recovery_name(sid)
        try:
            info = _read_marker(marker)
        except FileNotFoundError:
            continue  # the session finished meanwhile
        except (OSError, ValueError) as e:
            # Markers are written atomically, so a damaged one is no live session's.
            session = _recoverable(sid, None, marker, recovery, None, f"damaged marker: {e}")
            if session is not None:
                found.append(session)
            continue
        if _session_alive(info):
            continue
        project_path = info["project_path"]
        session = _recoverable(
            sid,
            info["pid"],
            marker,
            recovery,
            None if project_path is None else Path(project_path),
            None,
        )
        if session is None:  # nothing was saved: the marker alone is of no use
            _remove_session_files(folder, sid)
        else:
            found.append(session)
    for recovery in sorted(folder.glob("session-*.barforge")):
        sid = recovery.name[len("session-") : -len(".barforge")]
        marker = folder / _marker_name(sid)
        # A live session writes its marker before its recovery file and removes it after, so
        # a recovery file seen without its marker is no live session's.
        if sid in seen or not _SESSION_ID.fullmatch(sid) or marker.exists():
            continue
        session = _recoverable(sid, None, marker, recovery, None, None)
        if session is not None:
            found.append(session)
    found.sort(key=lambda s: s.modified, reverse=True)
    return found


def _recoverable(
    session_id: str,
    pid: int | None,
    marker: Path,
    recovery: Path,
    project_path: Path | None,
    marker_error: str | None,
) -> RecoverableSession | None:
    """The session with its recovery file read, or None when there is no recovery file."""
    try:
        modified = recovery.stat().st_mtime
    except FileNotFoundError:
        if marker_error is None:
            return None
        try:
            modified = marker.stat().st_mtime
        except OSError:
            modified = 0.0
        return RecoverableSession(
            session_id, pid, marker, recovery, project_path, modified, None, marker_error
        )
    except OSError as e:
        return RecoverableSession(
            session_id, pid, marker, recovery, project_path, 0.0, None, e.strerror or str(e)
        )
    project: Project | None = None
    error = marker_error
    try:
        project = load_project(recovery)
    except ProjectFileError as e:
        if not os.path.exists(recovery):
            return None  # removed meanwhile
        error = e.reason if error is None else f"{error}; recovery file: {e.reason}"
    return RecoverableSession(
        session_id, pid, marker, recovery, project_path, modified, project, error
    )


def discard(session: RecoverableSession) -> None:
    """Delete what ``session`` left: its recovery file, its marker and any temporary files.

    Raises
    ------
    OSError
        When a file exists but cannot be removed.
    """
    _remove_session_files(session.recovery_path.parent, session.session_id)


def _read_marker(path: Path) -> dict[str, Any]:
    """A marker's fields, checked. Raises ValueError (or OSError) when it cannot be used."""
    with open(path, "rb") as f:
        data = f.read(_MAX_MARKER_BYTES + 1)
    if len(data) > _MAX_MARKER_BYTES:
        raise ValueError("too large for a session marker")
    try:
        info = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"not JSON ({e})") from None
    if not isinstance(info, dict) or info.get("format") != MARKER_FORMAT:
        raise ValueError("not a Barforge session marker")
    if info.get("version") != MARKER_VERSION:
        raise ValueError(f"unknown marker version {info.get('version')!r}")
    checks: dict[str, Any] = {
        "pid": lambda v: type(v) is int and v > 0,
        "process_start": lambda v: v is None or (type(v) is int and v >= 0),
        "boot_id": lambda v: v is None or isinstance(v, str),
        "started": lambda v: type(v) in (int, float),
        "project_path": lambda v: v is None or isinstance(v, str),
    }
    for name, valid in checks.items():
        if name not in info or not valid(info[name]):
            raise ValueError(f"field {name!r} is missing or invalid")
    return info


def _session_alive(info: dict[str, Any]) -> bool:
    """Whether the process that wrote the marker ``info`` still runs."""
    boot_id = _boot_id()
    if info["boot_id"] is not None and boot_id is not None:
        if info["boot_id"] != boot_id:
            return False  # written before the last boot
    else:
        boot_time = _boot_time()
        if boot_time is not None and info["started"] < boot_time - _BOOT_SLACK_SEC:
            return False
    pid = info["pid"]
    if not _pid_running(pid):
        return False
    started = info["process_start"]
    now = _process_start(pid)
    return started is None or now is None or started == now  # else the pid was reused


# --- what the system says about processes and boots --------------------------------------------


def _proc_stat_fields(pid: int) -> list[str] | None:
    """Linux: the fields of ``/proc/<pid>/stat`` after the command name (the first is the
    state), or None where there is no such file."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 1 :].split()


def _process_start(pid: int) -> int | None:
    """Linux: when process ``pid`` started, in clock ticks after boot; None elsewhere."""
    fields = _proc_stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        return int(fields[19])  # field 22 of the whole line: starttime
    except ValueError:
        return None


def _boot_id() -> str | None:
    """Linux: a random id of the running boot; None elsewhere."""
    try:
        text = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _boot_time() -> float | None:
    """When the system booted, in seconds since the epoch, or None when unknown."""
    try:
        if sys.platform == "win32":
            import ctypes

            kernel32 = ctypes.WinDLL("kernel32")
            kernel32.GetTickCount64.restype = ctypes.c_ulonglong
            return time.time() - kernel32.GetTickCount64() / 1000.0
        if sys.platform == "darwin":
            out = subprocess.run(
                ["sysctl", "-n", "kern.boottime"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout
            match = re.search(r"sec\s*=\s*(\d+)", out)
            return float(match.group(1)) if match else None
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return None


if sys.platform == "win32":

    def _pid_running(pid: int) -> bool:
        """Whether a process ``pid`` exists and has not exited."""
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = wintypes.DWORD()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)

else:

    def _pid_running(pid: int) -> bool:
        """Whether a process ``pid`` exists and is not a zombie (killed, not yet reaped)."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, under another user
        except OverflowError:
            return False
        fields = _proc_stat_fields(pid)
        return fields is None or not fields or fields[0] not in ("Z", "X")
