"""The purposes a policy version registers (§2), their retention (§7) and allowed variants (§3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callvault.policy.models import PolicyPurpose

Variant = Literal["pseudonymised", "original"]
VARIANTS: tuple[str, ...] = ("pseudonymised", "original")
TRAINING = "training"
QUALITY_ASSURANCE = "quality_assurance"
#: Registers how long evaluation results outlive their recording (quality/); no recording is
#: made for it, so it takes no variants. Without it evaluations go with their recording.
EVALUATION_RESULTS = "quality_assurance_results"
RESULT_PURPOSES: frozenset[str] = frozenset({EVALUATION_RESULTS})
# Registered only by a later, DPO-approved version: keeps approved training clips beyond their
# recording for its own retention (training/). Never a purpose recordings are made for.
TRAINING_LIBRARY = "training_library"
CLIP_ONLY_PURPOSES: frozenset[str] = frozenset({TRAINING_LIBRARY})
#: Purposes no recording is made or kept for: they register how long something derived from
#: recordings outlives them (evaluation results, approved training clips).
NON_RECORDING_PURPOSES: frozenset[str] = RESULT_PURPOSES | CLIP_ONLY_PURPOSES
MAX_RETENTION_DAYS = 3650


class PurposeSpec(BaseModel):
    """One purpose as a draft proposes it or a version registers it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    description_sv: Annotated[str, Field(min_length=3, max_length=2000)]
    description_en: Annotated[str, Field(min_length=3, max_length=2000)]
    retention_days: Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)]
    variants: list[Variant]

    @field_validator("variants")
    @classmethod
    def _distinct_in_order(cls, value: list[Variant]) -> list[Variant]:
        return sorted(set(value), key=VARIANTS.index)

    @model_validator(mode="after")
    def _variants_fit_the_purpose(self) -> PurposeSpec:
        if self.code in RESULT_PURPOSES and self.variants:
            raise ValueError(f"{self.code} registers results, not recordings: no variants")
        if self.code not in RESULT_PURPOSES and not self.variants:
            raise ValueError("a purpose needs at least one variant")
        return self

    @model_validator(mode="after")
    def _training_is_pseudonymised(self) -> PurposeSpec:
        # §3: recordings used for training are pseudonymised; no version may loosen that.
        if self.code in (TRAINING, TRAINING_LIBRARY) and self.variants != ["pseudonymised"]:
            raise ValueError("the training purpose allows only the pseudonymised variant (§3)")
        return self

    def to_model(self) -> PolicyPurpose:
        return PolicyPurpose(
            code=self.code,
            description_sv=self.description_sv,
            description_en=self.description_en,
            retention_days=self.retention_days,
            variants=list(self.variants),
        )

    @classmethod
    def of(cls, purpose: PolicyPurpose) -> PurposeSpec:
        return cls(
            code=purpose.code,
            description_sv=purpose.description_sv,
            description_en=purpose.description_en,
            retention_days=purpose.retention_days,
            variants=purpose.variants,  # type: ignore[arg-type]
        )


def check_purpose_list(specs: list[PurposeSpec]) -> list[PurposeSpec]:
    """A version needs at least one purpose and each code once."""
    from callvault.errors import InvalidInput

    if not specs:
        raise InvalidInput("a policy version needs at least one purpose")
    codes = [s.code for s in specs]
    if len(set(codes)) != len(codes):
        raise InvalidInput("each purpose code may appear only once")
    return sorted(specs, key=lambda s: s.code)


FIRST_PURPOSES: tuple[PurposeSpec, ...] = (
    PurposeSpec(
        code=TRAINING,
        description_sv=(
            "Utbildning av medarbetare i kundserviceteamet (§2). Inspelningar som används för "
            "utbildning pseudonymiseras: direkta identifierare som namn avlägsnas (§3)."
        ),
        description_en=(
            "Training employees in the customer service team (§2). Recordings used for training "
            "are pseudonymised: direct identifiers such as names are removed (§3)."
        ),
        retention_days=90,
        variants=["pseudonymised"],
    ),
    PurposeSpec(
        code=QUALITY_ASSURANCE,
        description_sv=(
            "Kvalitetssäkring i syfte att förbättra kundservicekvaliteten och säkerställa att "
            "uppgifterna vi tillhandahåller är konsekventa och korrekta (§2)."
        ),
        description_en=(
            "Quality assurance, to improve the quality of customer service and to ensure that "
            "the information we provide is consistent and correct (§2)."
        ),
        retention_days=90,
        variants=["pseudonymised", "original"],
    ),
)
