"""The params schema: one typed model per params.yaml section, unknown keys rejected.

params.yaml holds the values; this module only says which keys exist and what they may hold,
so a mistyped key (``tasks.emotion.epoch``) is an error naming the closest valid key instead of
being ignored while the code runs on something else. Ranges and choices are the ones the code
checks when it reads a value.

`empathic.params_check.check(data)` validates a params mapping against `Params` (every stage
does on load, through `empathic.params.load`).
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool


MODALITIES = ("text", "audio", "video", "landmarks", "physio", "ssl")   # the feature files
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
    model: str
    batch_size: PosInt


class Audio(Extractor):
    sample_rate: Annotated[int, Field(ge=8000, le=48000, strict=True)]
    feature_set: Literal["eGeMAPSv02", "eGeMAPSv01b", "GeMAPSv01b", "ComParE_2016"]
    n_mels: Annotated[int, Field(ge=1, le=256, strict=True)]


class Face(Extractor):
    fps: Annotated[float, Field(ge=0.1, le=120)]
    detect_every: PosInt
    detect_scale: Annotated[float, Field(ge=0.1, le=4)]
    max_detect_scale: Annotated[float, Field(ge=0.1, le=8)]   # >= detect_scale
    chip_size: Annotated[int, Field(ge=16, le=512, strict=True)]
    hog_cell: Annotated[int, Field(ge=4, le=128, strict=True)]
    track: Literal["landmarks", "correlation"]


class Physio(Extractor):
    signals: Annotated[list[Literal["eda", "temp", "hr"]], Field(min_length=1)]
    rate: Annotated[float, Field(ge=0.1, le=1000)]
    eda_peak_prominence: Annotated[float, Field(ge=0)]
    min_samples: Annotated[int, Field(ge=2, strict=True)]
    min_ibis: Annotated[int, Field(ge=2, strict=True)]


class Ssl(Extractor):
    model: Optional[str]             # null: not configured (the modality is all failed)
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


Weight = Annotated[float, Field(ge=0)]


class LossWeights(Section):
    mse: Weight = 0.0        # a term left out of the mapping has weight 0
    cosine: Weight = 0.0


class Response(Training):
    targets: Union[dict[Modality, Weight], Annotated[list[Modality], Field(min_length=1)]]
    loss: Union[Literal["mse", "cosine"], LossWeights]
    fusion: Encoder
    figure_pairs: NonNegInt
    cut_overlap: StrictBool
    reference: StrictBool


class Labels(Training):
    classes: Annotated[list[str], Field(min_length=2)]
    merge: dict[str, str]
    loss: ClassLoss
    beta: Annotated[float, Field(ge=0, le=0.999999)]


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


class Dimensional(Training):
    dims: Annotated[list[Literal["valence", "arousal", "dominance"]], Field(min_length=1)]
    loss: Literal["mse", "ccc"]
    fusion: Encoder


class Context(Labels):
    window: NonNegInt
    edge_types: Annotated[list[Literal["forward", "backward", "undirected"]], Field(min_length=1)]
    graph_layers: PosInt
    fusion: Encoder


class Tasks(Section):
    executor: Executor
    workers: NonNegInt
class Reaction(Training):
    inputs: Annotated[list[Literal["audio", "landmarks", "video", "text"]], Field(min_length=1)]
    fps: Annotated[float, Field(gt=0, le=60)]
    listen_s: Annotated[float, Field(gt=0, le=60)]
    reply_s: Annotated[float, Field(ge=0, le=60)]
    windows: Annotated[list[Literal["listening", "replying"]], Field(min_length=1)]
    reactions: Annotated[int, Field(ge=1, le=50, strict=True)]
    wta_relax: Annotated[float, Field(ge=0, le=1)]
    appropriate_quantile: Annotated[float, Field(ge=0, le=1)]
    mime_lag_s: Annotated[float, Field(ge=0, le=10)]
    max_missing: Annotated[float, Field(ge=0, le=1)]
    figure_pairs: NonNegInt


    response: Response
    emotion: Emotion
    dimensional: Dimensional
    context: Context


class Dask(Section):
    reaction: Reaction
    address: Optional[Annotated[str, Field(min_length=1)]]   # null: a local cluster
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
    tasks: Tasks
    dask: Dask
