"""Tiny randomly initialised speech encoders of each family the SSL extractor loads, saved in
the `save_pretrained` layout (config + weights + feature-extractor config) as a downloaded
checkpoint is: the tests and the SSL bench run the real loading and extraction path on them.
"""
from __future__ import annotations

from pathlib import Path

FAMILIES = ("wav2vec2", "hubert", "wavlm", "whisper")
HIDDEN = 32
LAYERS = 2

# a 7-layer conv front end with the real models' total stride (320 samples = 20 ms at 16 kHz)
_CONV = dict(conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2),
             conv_kernel=(10, 3, 3, 3, 3, 2, 2))
_TRANSFORMER = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=2,
                    intermediate_size=48, num_conv_pos_embeddings=16,
                    num_conv_pos_embedding_groups=2)


def build(family: str, out: Path, seed: int = 0) -> Path:
    """Write a tiny `family` model with random weights (fixed by `seed`) into `out`."""
    import torch
    import transformers as T
    T.utils.logging.disable_progress_bar()
    torch.manual_seed(seed)
    out = Path(out)
    if family == "whisper":
        cfg = T.WhisperConfig(d_model=HIDDEN, encoder_layers=LAYERS, decoder_layers=1,
                              encoder_attention_heads=2, decoder_attention_heads=2,
                              encoder_ffn_dim=48, decoder_ffn_dim=48, num_mel_bins=80,
                              vocab_size=64, max_target_positions=16, max_source_positions=1500,
                              pad_token_id=0, bos_token_id=1, eos_token_id=2,
                              decoder_start_token_id=1)
        T.WhisperModel(cfg).save_pretrained(out)
        T.WhisperFeatureExtractor(feature_size=80).save_pretrained(out)
        return out
    cls = {"wav2vec2": (T.Wav2Vec2Config, T.Wav2Vec2Model),
           "hubert": (T.HubertConfig, T.HubertModel),
           "wavlm": (T.WavLMConfig, T.WavLMModel)}[family]
    cfg = cls[0](**_CONV, **_TRANSFORMER)
    cls[1](cfg).save_pretrained(out)
    T.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                               do_normalize=True,
                               return_attention_mask=family != "wav2vec2").save_pretrained(out)
    return out


def build_whisper_asr(out: Path, seed: int = 0) -> Path:
    """A tiny random Whisper recogniser (model, feature extractor, a letter tokenizer) in the
    layout `--asr whisper --asr-model DIR` loads; its text is noise, its path the real one."""
    import json

    import torch
    import transformers as T
    T.utils.logging.disable_progress_bar()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>",
                "<|notimestamps|>"]
    vocab = {t: i for i, t in enumerate([*"abcdefghijklmnopqrstuvwxyz", "Ġ", *specials])}
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    tok = T.WhisperTokenizer(str(out / "vocab.json"), str(out / "merges.txt"),
                             unk_token=specials[0], bos_token=specials[0], eos_token=specials[0],
                             pad_token=specials[0])
    tok.add_special_tokens({"additional_special_tokens": specials[1:]})
    torch.manual_seed(seed)
    eot, sot = vocab[specials[0]], vocab[specials[1]]
    cfg = T.WhisperConfig(vocab_size=len(vocab), d_model=HIDDEN, encoder_layers=1,
                          decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                          encoder_ffn_dim=48, decoder_ffn_dim=48, num_mel_bins=80,
                          max_source_positions=1500, max_target_positions=64, pad_token_id=eot,
                          bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
                          suppress_tokens=[], begin_suppress_tokens=[])
    model = T.WhisperForConditionalGeneration(cfg)
    model.generation_config.decoder_start_token_id = sot
    model.generation_config.forced_decoder_ids = None
    model.save_pretrained(out)
    T.WhisperProcessor(T.WhisperFeatureExtractor(feature_size=80), tok).save_pretrained(out)
    return out
