"""What an ingest did, file by file: the counts a user checks and the conservation invariant."""

from __future__ import annotations

from dataclasses import dataclass, field


class IngestError(RuntimeError):
    """An ingest the user asked for cannot run (missing path, unreadable file, database problem)."""


class InputMissing(IngestError):
    """A path or the inbox the user named does not exist (or is not a folder): a usage error, exit 2."""

    exit_code = 2


@dataclass
class FileReport:
    """One input file: its records and where each went (accepted + rejected + duplicates == records)."""

    path: str
    file_hash: str | None
    format: str
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    conflicts: int = 0
    field_issues: int = 0
    skipped: bool = False
    skip_reason: str | None = None
    seconds: float = 0.0
    read_as: str | None = None  # how a file the line reader cannot take was read, e.g. 'UTF-16 LE, a JSON array'
    warning: str | None = None  # e.g. most records rejected, with the top reasons (see alerts.py)

    @property
    def balanced(self) -> bool:
        return self.accepted + self.rejected + self.duplicates == self.records

    def summary(self, name: str) -> str:
        """One progress line, e.g. 'loaded events.jsonl: 998 accepted, 2 rejected, 0 duplicates'."""
        if self.skipped:
            return f"skipped {name}: {self.skip_reason}"
        if self.read_as:
            name = f"{name} (read as {self.read_as})"
        text = f"loaded {name}: {self.accepted} accepted, {self.rejected} rejected, {self.duplicates} duplicates"
        extras = []
        if self.conflicts:
            extras.append(f"{self.conflicts} conflicting")
        if self.field_issues:
            extras.append(f"{self.field_issues} field issues")
        return text + (f" ({', '.join(extras)})" if extras else "")


TOTALS = ("records", "accepted", "rejected", "duplicates", "conflicts", "field_issues")


@dataclass
class IngestReport:
    """All files of one `ingest_paths` call (one load id), with totals over the files loaded.

    Totals are plain fields (kept up to date by `add`) so `dataclasses.asdict` carries them into run summaries.
    """

    load_id: str
    files: list[FileReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. files ignored for their extension
    warnings: list[str] = field(default_factory=list)  # files that need a look (`--strict` fails on them)
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    conflicts: int = 0
    field_issues: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    seconds: float = 0.0

    def add(self, report: FileReport) -> None:
        self.files.append(report)
        if report.warning:
            self.warnings.append(report.warning)
        if report.skipped:
            self.files_skipped += 1
            return
        self.files_loaded += 1
        for name in TOTALS:
            setattr(self, name, getattr(self, name) + getattr(report, name))
