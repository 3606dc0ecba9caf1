"""The params schema: one typed model per params.yaml section, unknown keys rejected.

params.yaml holds the values; this module only says which keys exist and what they may hold,
so a mistyped key (``tasks.emotion.epoch``) is an error naming the closest valid key instead of
being ignored while the code runs on something else. Ranges and choices are the ones the code
checks when it reads a value.

``check(data)`` raises ParamError (one line) on the first problem: an unknown key, a wrong type
or a value out of range. With ``complete=False`` (what every stage does on load) keys absent
from the file are left to the code that reads them (``params.get`` names a missing one); with
``complete=True`` (``python -m stages.check``, the tests of the repository's params.yaml) every
required key must be there.
"""
from __future__ import annotations

import difflib
import functools
import re
import types
import typing
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, create_model

from .errors import ParamError

Modality = Literal["text", "audio", "video", "landmarks", "physio", "ssl"]
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
    response: Response
    emotion: Emotion
    dimensional: Dimensional
    context: Context


class Dask(Section):
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


# -- checking ---------------------------------------------------------------------------------
def _models(tp) -> list[type[BaseModel]]:
    """The section models a field annotation can hold (through Optional/Union/Annotated)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _models(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for a in typing.get_args(tp) for m in _models(a)]
    return []


def valid_keys(model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """Every dotted key the schema knows (sections and leaves)."""
    keys = []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        for sub in _models(field.annotation):
            keys += [k for k in valid_keys(sub, dotted + ".") if k not in keys]
    return keys


def closest(dotted: str) -> str | None:
    """The valid key nearest to `dotted`: a sibling first, else any key."""
    keys = valid_keys()
    parent = dotted.rpartition(".")[0]
    siblings = [k for k in keys if k.rpartition(".")[0] == parent]
    for pool, cutoff in ((siblings, 0.6), (keys, 0.75)):
        hit = difflib.get_close_matches(dotted, pool, n=1, cutoff=cutoff)
        if hit:
            return hit[0]
    return None


def _dotted(data, loc: tuple) -> str:
    """The dotted key of an error location, leaving out union member tags pydantic adds."""
    parts, cur = [], data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            parts.append(str(part))
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            parts.append(f"[{part}]")
            cur = cur[part]
        elif len(parts) == len(loc) - 1 or not isinstance(cur, (dict, list)):
            if isinstance(part, str) and not (part[:1].isupper() or "[" in part):
                parts.append(part)          # a missing key: name it
    return ".".join(parts).replace(".[", "[")


def _message(err: dict, data, source: str) -> str:
    key = _dotted(data, err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        near = closest(key)
        hint = f" (did you mean '{near}'?)" if near else ""
        return f"{source}: unknown key '{key}'{hint}"
    if kind == "missing":
        return f"{source}: missing param '{key}'"
    value = err.get("input")
    return f"{source}: param '{key}' is {value!r}; {err['msg']}"


def _plain(msg: str) -> str:
    msg = re.sub(r"a valid dictionary or instance of \w+", "a mapping", msg)
    return msg[0].lower() + msg[1:]


def _rank(err: dict) -> int:
    """Unknown keys first (the likeliest cause of the other errors), then bad values."""
    return {"extra_forbidden": 0, "missing": 2}.get(err["type"], 1)


def _loose(tp):
    """`tp` with every section model in it replaced by its partial twin."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return partial(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return Annotated[(_loose(args[0]), *tp.__metadata__)]
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_loose(a) for a in args)]
    return tp


@functools.cache
def partial(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every field optional (at any depth): what a stage checks on load."""
    fields = {}
    for name, f in model.model_fields.items():
        tp = _loose(f.annotation)          # pydantic keeps a field's constraints in metadata
        fields[name] = (Annotated[(tp, *f.metadata)] if f.metadata else tp, None)
    return create_model(f"Partial{model.__name__}", __base__=Section, **fields)


def check(data: dict, source: str = "params.yaml", complete: bool = False) -> Params | None:
    """Validate a params mapping; the first problem is a ParamError naming the dotted key.

    `complete`: also require every key the schema requires (otherwise absent keys pass and
    the code that reads one names it). Returns the typed params when complete.
    """
    model = Params if complete else partial(Params)
    try:
        checked = model.model_validate(data)
    except ValidationError as e:
        errors = e.errors(include_url=False)
    else:
        return checked if complete else None
    # A union reports one error per member: the deepest key is the member the value meant;
    # members failing at the same key are joined.
    errors.sort(key=lambda err: (_rank(err), -len(_dotted(data, err["loc"]))))
    first = dict(errors[0])
    key = _dotted(data, first["loc"])
    same = [err["msg"] for err in errors
            if _rank(err) == _rank(first) and _dotted(data, err["loc"]) == key]
    first["msg"] = " or ".join(dict.fromkeys(_plain(m) for m in same))
    raise ParamError(_message(first, data, source))
