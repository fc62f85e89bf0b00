"""The reader network (torch, used for training and export only): a BERT encoder over the
multilingual-e5-small weights, cut to its first ``layers`` layers, plus a linear span head.

The word-embedding matrix stays frozen at the base model's values, so the shipped graph takes
the gathered word-embedding vectors as input and need not contain the 250k x 384 matrix.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

HIDDEN = 384


def base_config(model_dir: Path, layers: int, attn_implementation: str = "sdpa"):
    from transformers import BertConfig

    config = BertConfig.from_pretrained(str(model_dir))
    config.num_hidden_layers = layers
    config.attention_probs_dropout_prob = 0.0  # twice as fast on CPU, no loss measured
    config._attn_implementation = attn_implementation
    return config


class SpanReader(nn.Module):
    """Encoder + Linear(hidden, 2): start and end logits for every token."""

    def __init__(self, config) -> None:
        super().__init__()
        from transformers import BertModel

        self.bert = BertModel(config, add_pooling_layer=False)
        self.head = nn.Linear(config.hidden_size, 2)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           inputs_embeds=inputs_embeds).last_hidden_state
        logits = self.head(hidden)
        return logits[..., 0], logits[..., 1]

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Everything but the frozen word embeddings (what a checkpoint needs)."""
        return {k: v for k, v in self.state_dict().items() if "word_embeddings" not in k}


def load_base(model_dir: Path, layers: int, attn_implementation: str = "sdpa") -> SpanReader:
    """A SpanReader initialised from the base model's safetensors (first ``layers`` layers)."""
    from safetensors.torch import load_file

    model = SpanReader(base_config(model_dir, layers, attn_implementation))
    weights = load_file(str(Path(model_dir) / "model.safetensors"))
    keep = {}
    for key, value in weights.items():
        if key.startswith("pooler."):
            continue
        if key.startswith("encoder.layer."):
            if int(key.split(".")[2]) >= layers:
                continue
        keep["bert." + key] = value
    missing, unexpected = model.load_state_dict(keep, strict=False)
    missing = [m for m in missing if not m.startswith("head.")]
    if missing or unexpected:
        raise RuntimeError(f"base weights do not fit: missing {missing}, unexpected {unexpected}")
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


class EmbedsToLogits(nn.Module):
    """The exported graph: word-embedding vectors + mask -> start/end logits (positions,
    token type 0 and the embedding LayerNorm are added inside)."""

    def __init__(self, reader: SpanReader) -> None:
        super().__init__()
        self.reader = reader

    def forward(self, inputs_embeds, attention_mask):
        return self.reader(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
