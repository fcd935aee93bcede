"""Evaluation forms: sections of weighted questions with Swedish and English labels, versioned.

A form is written as a draft version; publishing freezes it. Editing a published form makes a
new draft version, and publishing that makes it the one new evaluations use; evaluations keep
the version they were made with.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.errors import Conflict, InvalidInput, NotFound
from callvault.quality.models import (
    QaForm,
    QaFormVersion,
    QaQuestion,
    QaSection,
    QuestionKind,
)
from callvault.quality.scoring import QuestionRule, check_weights
from callvault.runtime import Runtime

DRAFT, PUBLISHED = "draft", "published"
MAX_QUESTIONS = 200
MAX_WEIGHT = 1000.0


class Label(BaseModel):
    """A label in Swedish and English; a plain string is used for both."""

    model_config = ConfigDict(extra="forbid")

    sv: Annotated[str, Field(max_length=500)]
    en: Annotated[str, Field(max_length=500)]


LabelIn = str | Label


def _label(value: LabelIn | None, what: str, *, required: bool = True) -> tuple[str, str]:
    if value is None:
        if required:
            raise InvalidInput(f"{what} is missing")
        return "", ""
    sv, en = (value, value) if isinstance(value, str) else (value.sv, value.en)
    sv, en = sv.strip(), en.strip()
    if required and not (sv and en):
        raise InvalidInput(f"{what} needs a Swedish and an English text")
    if len(sv) > 500 or len(en) > 500:
        raise InvalidInput(f"{what} is at most 500 characters")
    return sv, en


class OptionSpec(BaseModel):
    """An option of a choice question: its label (`label`, or `text` like a question's) and
    its points from 0 to 1; `id` optionally names it (answers then use that id)."""

    model_config = ConfigDict(extra="forbid")

    label: LabelIn | None = None
    text: LabelIn | None = None
    id: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = None
    points: float


class QuestionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: LabelIn
    kind: str
    weight: float = 1.0
    critical: bool = False
    allow_na: bool = False
    help: LabelIn | None = None
    options: list[OptionSpec] | None = None


class SectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: LabelIn
    questions: list[QuestionSpec] = Field(default_factory=list)


class FormSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: LabelIn
    sections: list[SectionSpec] = Field(default_factory=list)


def _build_version(spec: FormSpec, version: QaFormVersion) -> None:
    """Fill a version from a spec after checking every rule; nothing is written on error."""
    version.title_sv, version.title_en = _label(spec.title, "the form's title")
    questions = [q for s in spec.sections for q in s.questions]
    if not questions:
        raise InvalidInput("a form needs at least one question")
    if len(questions) > MAX_QUESTIONS:
        raise InvalidInput(f"a form has at most {MAX_QUESTIONS} questions")
    for number, section in enumerate(spec.sections, 1):
        if not section.questions:
            raise InvalidInput(f"section {number} has no questions")
    for number, q in enumerate(questions, 1):
        if q.kind not in QuestionKind.__members__.values():
            raise InvalidInput(f"question {number}: the kind is yes_no, scale or choice")
        if not 0 <= q.weight <= MAX_WEIGHT:
            raise InvalidInput(f"question {number}: the weight is from 0 to {MAX_WEIGHT:g}")
        if q.kind == QuestionKind.CHOICE:
            if not q.options or len(q.options) < 2:
                raise InvalidInput(f"question {number}: a choice question needs 2 or more options")
            if any(not 0 <= o.points <= 1 for o in q.options):
                raise InvalidInput(f"question {number}: an option's points are from 0 to 1")
            given = [o.id for o in q.options if o.id]
            if len(set(given)) != len(given):
                raise InvalidInput(f"question {number}: two options have the same id")
        elif q.options:
            raise InvalidInput(f"question {number}: only choice questions have options")
    check_weights([q.weight for q in questions])
    sections = []
    for s_pos, section in enumerate(spec.sections):
        s_sv, s_en = _label(section.title, f"section {s_pos + 1}'s title")
        row = QaSection(id=uuid.uuid4(), position=s_pos, title_sv=s_sv, title_en=s_en)
        for q_pos, q in enumerate(section.questions):
            t_sv, t_en = _label(q.text, f"question {q_pos + 1} of section {s_pos + 1}")
            h_sv, h_en = _label(q.help, "help text", required=False)
            options = None
            if q.options:
                options = []
                for o in q.options:
                    o_sv, o_en = _label(o.label or o.text, "an option's label")
                    options.append(
                        {
                            "id": o.id or "o" + uuid.uuid4().hex[:11],
                            "label_sv": o_sv,
                            "label_en": o_en,
                            "points": float(o.points),
                        }
                    )
            row.questions.append(
                QaQuestion(
                    id=uuid.uuid4(),
                    position=q_pos,
                    text_sv=t_sv,
                    text_en=t_en,
                    help_sv=h_sv or None,
                    help_en=h_en or None,
                    kind=q.kind,
                    weight=float(q.weight),
                    critical=q.critical,
                    allow_na=q.allow_na,
                    options=options,
                )
            )
        sections.append(row)
    version.sections = sections


def _stamp_questions(version: QaFormVersion) -> None:
    for section in version.sections:
        section.form_version_id = version.id
        for question in section.questions:
            question.form_version_id = version.id
            question.section_id = section.id


def create_form(
    session: Session, runtime: Runtime, principal: Principal, spec: FormSpec, *, source: str
) -> QaFormVersion:
    """A new form with its first (draft) version."""
    now = runtime.clock.now()
    form = QaForm(id=uuid.uuid4(), created_by=principal.id, created_at=now)
    version = QaFormVersion(
        id=uuid.uuid4(), version=1, state=DRAFT, created_by=principal.id, created_at=now
    )
    _build_version(spec, version)
    version.form_id = form.id
    _stamp_questions(version)
    session.add(form)
    session.add(version)
    session.flush()
    _audit(session, principal, "qa.form.create", form.id, source, {"version": 1})
    return version


def edit_form(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    form_id: uuid.UUID,
    spec: FormSpec,
    *,
    source: str,
) -> QaFormVersion:
    """Replace the draft version, or start a new draft when the latest version is published."""
    form = get_form(session, form_id)
    latest = form.versions[-1]
    now = runtime.clock.now()
    if latest.state == DRAFT:
        _build_version(spec, latest)
        _stamp_questions(latest)
        version = latest
    else:
        version = QaFormVersion(
            id=uuid.uuid4(),
            form_id=form.id,
            version=latest.version + 1,
            state=DRAFT,
            created_by=principal.id,
            created_at=now,
        )
        _build_version(spec, version)
        _stamp_questions(version)
        session.add(version)
    session.flush()
    session.refresh(form)
    _audit(session, principal, "qa.form.edit", form.id, source, {"version": version.version})
    return version


def publish_form(
    session: Session, runtime: Runtime, principal: Principal, form_id: uuid.UUID, *, source: str
) -> QaFormVersion:
    """Publish the draft version; publishing what is already published is a conflict."""
    form = get_form(session, form_id)
    latest = form.versions[-1]
    if latest.state == PUBLISHED:
        raise Conflict("this form has no unpublished changes")
    latest.state = PUBLISHED
    latest.published_at = runtime.clock.now()
    session.flush()
    _audit(session, principal, "qa.form.publish", form.id, source, {"version": latest.version})
    return latest


def get_form(session: Session, form_id: uuid.UUID) -> QaForm:
    form = session.get(QaForm, form_id)
    if form is None:
        raise NotFound("no such form")
    return form


def published_version(session: Session, form_id: uuid.UUID) -> QaFormVersion:
    """The newest published version of a form: the one new evaluations use."""
    version = session.scalar(
        sa.select(QaFormVersion)
        .where(QaFormVersion.form_id == form_id, QaFormVersion.state == PUBLISHED)
        .order_by(QaFormVersion.version.desc())
        .limit(1)
    )
    if version is None:
        if session.get(QaForm, form_id) is None:
            raise NotFound("no such form")
        raise InvalidInput("that form is not published yet")
    return version


def list_forms(session: Session) -> list[QaForm]:
    return list(session.scalars(sa.select(QaForm).order_by(QaForm.created_at.desc())))


def questions_of(version: QaFormVersion) -> list[QaQuestion]:
    return [q for s in version.sections for q in s.questions]


def rule_of(question: QaQuestion) -> QuestionRule:
    return QuestionRule(
        kind=question.kind,
        weight=question.weight,
        critical=question.critical,
        allow_na=question.allow_na,
        option_points={o["id"]: float(o["points"]) for o in question.options or []},
    )


def version_out(version: QaFormVersion) -> dict[str, Any]:
    """A version as JSON: sections, questions with ids, options with ids."""
    return {
        "id": str(version.form_id),
        "version": version.version,
        "version_id": str(version.id),
        "state": version.state,
        "title": {"sv": version.title_sv, "en": version.title_en},
        "sections": [
            {
                "title": {"sv": s.title_sv, "en": s.title_en},
                "questions": [
                    {
                        "id": str(q.id),
                        "text": {"sv": q.text_sv, "en": q.text_en},
                        "help": {"sv": q.help_sv, "en": q.help_en} if q.help_sv else None,
                        "kind": q.kind,
                        "weight": q.weight,
                        "critical": q.critical,
                        "allow_na": q.allow_na,
                        "options": [
                            {
                                "id": o["id"],
                                "label": {"sv": o["label_sv"], "en": o["label_en"]},
                                "points": o["points"],
                            }
                            for o in q.options
                        ]
                        if q.options
                        else None,
                    }
                    for q in s.questions
                ],
            }
            for s in version.sections
        ],
    }


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    object_id: uuid.UUID,
    source: str,
    details: dict[str, object],
    object_type: str = "qa_form",
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        source=source,
        details=details,
    )
