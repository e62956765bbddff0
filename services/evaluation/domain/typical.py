"""典型案例通报 (CMP-7; seed 000 §五(四) 发挥负面典型的教育警示作用): supervisors select a concluded, upheld
complaint or a decided accountability case as a typical case of unlawful or improper enforcement, write
the warning text (剖析与警示), and a SECOND supervisor approves it before it is published (审核): the one
who selected or last edited it may not approve it. Returned cases go back to draft with the reason.

Pure: states and transitions; the use case checks the source and persists.
"""
from __future__ import annotations

from dataclasses import dataclass

SOURCE_KINDS = ("complaint", "accountability")
STATUS_ZH = {"draft": "草稿", "submitted": "待审核", "returned": "已退回", "approved": "已审核发布"}


class TypicalCaseError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Transition:
    status: str
    note: str | None = None


def check_text(title: str | None, warning: str | None) -> None:
    problems = []
    if not title or not 4 <= len(title.strip()) <= 100:
        problems.append("标题应为4–100字")
    if not warning or not 20 <= len(warning.strip()) <= 5000:
        problems.append("剖析与警示内容应为20–5000字")
    if problems:
        raise TypicalCaseError(422, "invalid", "；".join(problems))


def edit(status: str) -> None:
    if status not in ("draft", "returned"):
        raise TypicalCaseError(409, "wrong_status", f"{STATUS_ZH[status]}的典型案例不能修改")


def submit(status: str) -> Transition:
    if status not in ("draft", "returned"):
        raise TypicalCaseError(409, "wrong_status", f"{STATUS_ZH[status]}的典型案例不能提交审核")
    return Transition("submitted")


def review(status: str, actor: str, author: str, approve: bool, note: str | None) -> Transition:
    """The second supervisor's review: approve → published; return (with a reason) → back to the author."""
    if status != "submitted":
        raise TypicalCaseError(409, "wrong_status", f"{STATUS_ZH[status]}的典型案例不能审核")
    if actor == author:
        raise TypicalCaseError(409, "same_person", "典型案例须由选定或修改人以外的另一名监督人员审核")
    if not approve and not (note or "").strip():
        raise TypicalCaseError(422, "invalid", "退回须说明理由")
    return Transition("approved" if approve else "returned", (note or "").strip() or None)
