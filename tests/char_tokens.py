"""A stand-in for the reader's tokenizer in training tests: one token a character, ids and
offsets shaped as ``tokenizers``' ``encode_batch`` gives them (what ``qa.read.data.encode_many`` reads)."""


class Encoding:
    def __init__(self, text: str) -> None:
        self.ids = [10 + ord(ch) % 1000 for ch in text]
        self.offsets = [(i, i + 1) for i in range(len(text))]


class CharTokens:
    def encode_batch(self, texts, add_special_tokens=False):
        return [Encoding(t) for t in texts]
