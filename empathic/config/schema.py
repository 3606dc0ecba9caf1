"""The params schema: one typed model per params.yaml section, unknown keys rejected.

params.yaml holds the values; this module only says which keys exist and what they may hold,
so a mistyped key (``tasks.emotion.epoch``) is an error naming the closest valid key instead of
being ignored while the code runs on something else. Ranges, choices and the rules between keys
(validators) are written here only: code reads a section through `empathic.config.params.section`,
which returns this module's validated, frozen model of it, and checks nothing again.

`empathic.config.check.check(data)` validates a params mapping against `Params` (every stage
does on load, through `empathic.config.params.load`).
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator


MODALITIES = ("text", "audio", "video", "landmarks", "physio", "ssl")   # the feature files
ATTENTION_HEADS = 4      # heads of the attention fusion (empathic.nets.fusion)
Modality = Literal[MODALITIES]
Device = Literal["auto", "cpu", "cuda"]
Encoder = Literal["concat", "attention"]
ClassLoss = Literal["ce", "weighted_ce", "class_balanced"]
Gender = Literal["F", "M", "any"]

NonNegInt = Annotated[int, Field(ge=0, strict=True)]
PosInt = Annotated[int, Field(ge=1, strict=True)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OpenSection(Section):
    """A section that also holds keys named by a registry (`extra_keys`), each validated where
    it is read (empathic.config.check rejects any other key by name)."""
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    @classmethod
    def extra_keys(cls) -> list[str]:
        return []


def task_modules() -> list[str]:
    """The task modules of empathic/training/tasks, by name (listed, not imported)."""
    import pkgutil
    from pathlib import Path
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parents[1] / "training"
                                                             / "tasks")]))


# -- base, data, sample, pairs, split ---------------------------------------------------------
class Base(Section):
    seed: NonNegInt


class Data(Section):
    corpus: Literal["iemocap", "kemdy19", "kemdy20"]
    root: str


class SampleKemdy(Section):
    sessions: Annotated[int, Field(ge=3, le=99, strict=True)]
    dialogs_per_session: Annotated[int, Field(ge=1, le=40, strict=True)]
    turns_per_dialog: Annotated[int, Field(ge=2, le=200, strict=True)]
    overlap_rate: Annotated[float, Field(ge=0, le=0.9)]


class Sample(Section):
    out: str
    seed: NonNegInt
    sessions: Annotated[int, Field(ge=3, le=99, strict=True)]
    dialogs_per_session: Annotated[int, Field(ge=1, le=40, strict=True)]
    turns_per_dialog: Annotated[int, Field(ge=2, le=200, strict=True)]
    fps: Annotated[int, Field(ge=5, le=60, strict=True)]
    filming: Literal["studio", "release"]
    width: Annotated[int, Field(ge=320, le=1920, multiple_of=4, strict=True)]
    height: Annotated[int, Field(ge=240, le=1080, strict=True)]
    overlap_rate: Annotated[float, Field(ge=0, le=0.9)]
    same_speaker_rate: Annotated[float, Field(ge=0, le=0.5)]
    xxx_rate: Annotated[float, Field(ge=0, le=0.9)]
    inertia: Fraction
    empathy: Annotated[float, Field(ge=1 / 6, le=1)]
    rater_accuracy: Fraction
    neutral_line_rate: Fraction
    snr_db: Annotated[float, Field(ge=0, le=60)]
    crosstalk_db: Annotated[float, Field(ge=-60, le=0)]
    mirroring: Fraction
    backchannel_rate: Annotated[float, Field(ge=0, le=2)]
    reply_onset: Fraction
    kemdy: SampleKemdy
    layout: Optional[Literal["iemocap"]] = None     # the stage's argument picks the layout


class Pairs(Section):
    prompt_gender: Gender
    response_gender: Gender
    max_gap_s: float


class Split(Section):
    scheme: Literal["loso-session"]
    val_sessions: PosInt
    folds: Union[Literal["all"], Annotated[list[str], Field(min_length=1)]]
    refit: StrictBool


# -- features ---------------------------------------------------------------------------------
class Extractor(Section):
    max_failed_fraction: Optional[Fraction] = None   # overrides features.max_failed_fraction


class Text(Extractor):
    model: Annotated[str, Field(pattern=r"\S")]     # auto, a model name, a local dir or a hub id
    batch_size: PosInt


class Audio(Extractor):
    sample_rate: Annotated[int, Field(ge=8000, le=48000, strict=True)]
    feature_set: Literal["eGeMAPSv02", "eGeMAPSv01b", "GeMAPSv01b", "ComParE_2016"]
    n_mels: Annotated[int, Field(ge=1, le=256, strict=True)]


class Face(Extractor):
    fps: Annotated[float, Field(ge=0.1, le=120)]
    detect_every: PosInt
    detect_scale: Annotated[float, Field(ge=0.1, le=4)]
    max_detect_scale: Annotated[float, Field(ge=0.1, le=8)]
    chip_size: Annotated[int, Field(ge=16, le=512, strict=True)]
    hog_cell: Annotated[int, Field(ge=4, le=128, strict=True)]
    track: Literal["landmarks", "correlation"]
    listener: StrictBool      # also the listener's face (the other half) on the same frames

    @model_validator(mode="after")
    def _scales_and_chip(self):
        if self.max_detect_scale < self.detect_scale:
            raise ValueError(f"max_detect_scale ({self.max_detect_scale:g}) must be at least "
                             f"detect_scale ({self.detect_scale:g})")
        if self.chip_size % self.hog_cell or self.chip_size // self.hog_cell < 2:
            raise ValueError(f"chip_size ({self.chip_size}) must be a multiple of hog_cell "
                             f"({self.hog_cell}) and at least twice it")
        return self


class Physio(Extractor):
    signals: Annotated[list[Literal["eda", "temp", "hr"]], Field(min_length=1)]
    rate: Annotated[Union[int, float], Field(ge=0.1, le=1000)]   # an int stays one (frame_rate)
    eda_peak_prominence: Annotated[float, Field(ge=0)]
    min_samples: Annotated[int, Field(ge=2, strict=True)]
    min_ibis: Annotated[int, Field(ge=2, strict=True)]


class Ssl(Extractor):
    # null (or ""): not configured (the modality is all failed); else a local dir or a hub id
    model: Optional[Annotated[str, Field(pattern=r"^$|\S")]]
    layers: Union[Literal["all"], NonNegInt]
    frame_rate: Annotated[float, Field(ge=0.1, le=100)]
    chunk_s: Annotated[float, Field(ge=1, le=600)]
    batch_size: PosInt
    device: Device


Executor = Literal["processes", "dask"]


class Features(Section):
    executor: Executor
    workers: NonNegInt
    max_failed_fraction: Fraction
    text: Text
    audio: Audio
    face: Face
    physio: Physio
    ssl: Ssl


# -- tasks ------------------------------------------------------------------------------------
Inputs = Annotated[list[Modality], Field(min_length=1)]


class Training(Section):
    """The hyper-parameters every task shares."""
    inputs: Inputs
    hidden: Annotated[int, Field(ge=4, strict=True)]
    layers: PosInt
    dropout: Annotated[float, Field(ge=0, le=0.95)]
    lr: Annotated[float, Field(ge=1e-8, le=10)]
    weight_decay: Annotated[float, Field(ge=0)]
    batch_size: PosInt
    epochs: PosInt
    patience: PosInt
    seed: Optional[NonNegInt]          # null: base.seed
    seeds: Annotated[int, Field(ge=1, le=100, strict=True)]
    device: Device

    @model_validator(mode="after")
    def _attention_width(self):
        fusion = getattr(self, "fusion", None)
        encoder = fusion if isinstance(fusion, str) else getattr(fusion, "early", None)
        if encoder == "attention" and self.hidden % ATTENTION_HEADS:
            raise ValueError(f"attention fusion needs hidden to be a multiple of "
                             f"{ATTENTION_HEADS} (its heads); hidden is {self.hidden}")
        return self


class FusionTraining(Training):
    """A task whose networks are the fusion encoder (also the params model of a task module
    that declares none of its own: see empathic.training.task.Task.params_model)."""
    fusion: Encoder


Weight = Annotated[float, Field(ge=0)]


class LossWeights(Section):
    mse: Weight = 0.0        # a term left out of the mapping has weight 0
    cosine: Weight = 0.0


class Response(FusionTraining):
    targets: Union[dict[Modality, Weight], Annotated[list[Modality], Field(min_length=1)]]
    loss: Union[Literal["mse", "cosine"], LossWeights]
    figure_pairs: NonNegInt
    cut_overlap: StrictBool
    reference: StrictBool

    @model_validator(mode="after")
    def _positive_weights(self):
        if isinstance(self.targets, dict) and not any(w > 0 for w in self.targets.values()):
            raise ValueError(f"targets {self.targets} need at least one positive weight")
        if isinstance(self.loss, LossWeights) and not (self.loss.mse > 0 or self.loss.cosine > 0):
            raise ValueError("loss needs at least one positive weight (mse or cosine)")
        return self


class Labels(Training):
    classes: Annotated[list[str], Field(min_length=2)]
    merge: dict[str, str]
    loss: ClassLoss
    beta: Annotated[float, Field(ge=0, le=0.999999)]

    @model_validator(mode="after")
    def _label_set(self):
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be distinct codes, got {self.classes}")
        bad = {k: v for k, v in self.merge.items() if v not in self.classes}
        if bad:
            raise ValueError(f"merge maps to codes that are not classes: {bad}")
        clash = [k for k in self.merge if k in self.classes]
        if clash:
            raise ValueError(f"merge renames codes that are classes themselves: {clash}")
        return self


class DecisionFusion(Section):
    early: Encoder
    decision: list[Literal["soft", "weighted", "hard", "stacking"]]


class Phases(Section):
    first: Inputs
    add: Inputs
    finetune_lr: Annotated[float, Field(ge=1e-8, le=10)]


class Emotion(Labels):
    members: Annotated[list[Union[Modality, Literal["early"]]], Field(min_length=1)]
    fusion: Union[Encoder, DecisionFusion]
    phases: Optional[Phases]          # null: no two-phase schedule

    @model_validator(mode="after")
    def _members_and_phases(self):
        allowed = [*self.inputs, "early"]
        outside = [m for m in self.members if m not in allowed]
        if outside:
            raise ValueError(f"members {outside} are not among the inputs or early {allowed}")
        decision = self.fusion.decision if isinstance(self.fusion, DecisionFusion) else []
        if decision and len(self.members) < 2:
            raise ValueError("decision fusion needs two or more members")
        if self.phases is not None:
            for part in ("first", "add"):
                outside = [m for m in getattr(self.phases, part) if m not in self.inputs]
                if outside:
                    raise ValueError(f"phases.{part} {outside} are not among the inputs")
            both = sorted(set(self.phases.first) & set(self.phases.add))
            if both:
                raise ValueError(f"phases: modalities {both} are in both first and add")
        return self


class Dimensional(FusionTraining):
    dims: Annotated[list[Literal["valence", "arousal", "dominance"]], Field(min_length=1)]
    loss: Literal["mse", "ccc"]


class Context(Labels):
    window: NonNegInt
    edge_types: Annotated[list[Literal["forward", "backward", "undirected"]], Field(min_length=1)]
    graph_layers: PosInt
    fusion: Encoder


class Reaction(Training):
    inputs: Annotated[list[Literal["audio", "landmarks", "video", "text"]], Field(min_length=1)]
    fps: Annotated[float, Field(gt=0, le=60)]
    listen_s: Annotated[float, Field(gt=0, le=60)]
    reply_s: Annotated[float, Field(ge=0, le=60)]
    windows: Annotated[list[Literal["listening", "replying"]], Field(min_length=1)]
    reactions: Annotated[int, Field(ge=1, le=50, strict=True)]
    wta_relax: Annotated[float, Field(ge=0, le=1)]
    wta_relax_start: Optional[Annotated[float, Field(ge=0, le=1)]]   # null: wta_relax throughout
    wta_anneal_epochs: NonNegInt
    diversity: Annotated[float, Field(ge=0, le=100)]
    appropriate_quantile: Annotated[float, Field(ge=0, le=1)]
    appropriate_max: PosInt
    mime_lag_s: Annotated[float, Field(ge=0, le=10)]
    max_missing: Annotated[float, Field(ge=0, le=1)]
    figure_pairs: NonNegInt


class TrainingRun(Section):
    """How the tasks' (fold, seed) units run: never changes a result."""
    executor: Executor
    workers: NonNegInt


class Tasks(OpenSection):
    """One section per task. A task module without a field here is still a valid section name:
    its module's `params_model` validates it (empathic.training.task.Task)."""
    @classmethod
    def extra_keys(cls) -> list[str]:
        return [t for t in task_modules() if t not in cls.model_fields]
    response: Response
    emotion: Emotion
    dimensional: Dimensional
    context: Context
    reaction: Reaction


class Dask(Section):
    address: Optional[Annotated[str, Field(min_length=1, pattern=r"\S")]]   # null: local cluster
    n_workers: NonNegInt
    timeout_s: Annotated[float, Field(gt=0, le=600)]
    retries: Annotated[int, Field(ge=0, le=100, strict=True)]
    resources: dict[str, Annotated[float, Field(ge=0)]]


class Params(Section):
    base: Base
    data: Data
    sample: Sample
    pairs: Pairs
    split: Split
    features: Features
    training: TrainingRun
    tasks: Tasks
    dask: Dask
