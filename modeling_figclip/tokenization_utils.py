"""Tokenizer helpers: a deterministic CLIP-style tokenizer built from a word list, and a guard against empty tokenizers.

Why hand-built: BPE *training* in `tokenizers` is not deterministic (ids differ between runs even with one thread),
and no pretrained tokenizer can be downloaded offline. A CLIP BPE tokenizer whose merges spell out a fixed word list
is deterministic, round-trips through `save_pretrained`, and behaves like the real one: byte-level, lower-cased,
`</w>` end-of-word suffix, `<|startoftext|>`/`<|endoftext|>` specials. Words outside the list fall back to bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from transformers import CLIPTokenizer, PreTrainedTokenizerBase

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"


def _bytes_to_unicode() -> dict[int, str]:
    """The byte → printable-unicode table of GPT-2/CLIP byte-level BPE (printable bytes map to themselves)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def build_word_level_clip_tokenizer(words: Iterable[str], model_max_length: int = 77) -> CLIPTokenizer:
    """Build a deterministic CLIP tokenizer in which every word of `words` is a single token.

    Ids: 0 = `<|startoftext|>`, 1 = `<|endoftext|>` (also used for padding, as in CLIP), then the 256 byte symbols,
    their 256 end-of-word variants, then one id per merged sub-word in order of first appearance.

    Args:
        words: words to keep whole (lower-cased; punctuation-free words work best, as CLIP's pre-tokenizer splits
            letters, digits and punctuation apart).
        model_max_length: the tokenizer's truncation length (CLIP uses 77).
    """
    byte_symbols = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {BOS_TOKEN: 0, EOS_TOKEN: 1}
    for symbol in byte_symbols:
        vocab[symbol] = len(vocab)
    for symbol in byte_symbols:
        vocab[symbol + "</w>"] = len(vocab)

    merges: list[tuple[str, str]] = []
    seen_merges: set[tuple[str, str]] = set()

    def add_chain(symbols: list[str]) -> None:
        """Merges that join `symbols` left to right: ((w a) l) k</w>; each merge is added once."""
        current = symbols[0]
        for nxt in symbols[1:]:
            pair = (current, nxt)
            current = current + nxt
            if pair not in seen_merges:
                seen_merges.add(pair)
                merges.append(pair)
                vocab.setdefault(current, len(vocab))

    byte_table = _bytes_to_unicode()
    word_symbols = {}
    for word in dict.fromkeys(w.strip().lower() for w in words):
        if not word or any(c.isspace() for c in word):
            continue
        symbols = [byte_table[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        word_symbols[word] = symbols
        add_chain(symbols)
    # BPE applies the lowest-ranked merge first, so a word can be cut apart by another word's earlier merge ("small"
    # by the (m, a) of "manner": s|ma|l|l</w>). Patch: join such fragments with merges ranked after all others. A
    # patch never changes a word that is already one token (its merge path only used lower-ranked merges), so this
    # converges; each round fixes every word still in pieces.
    for _ in range(len(word_symbols) + 1):
        ranks = {pair: rank for rank, pair in enumerate(merges)}
        pieces = (_bpe(symbols, ranks, merges) for symbols in word_symbols.values())
        broken = [fragments for fragments in pieces if len(fragments) > 1]
        if not broken:
            break
        for fragments in broken:
            add_chain(fragments)
    else:  # pragma: no cover - the argument above says this cannot happen
        raise RuntimeError("could not make every word a single token")
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def _bpe(symbols: list[str], ranks: dict[tuple[str, str], int], merges: list[tuple[str, str]]) -> list[str]:
    """Byte-pair encoding of one word, as CLIP's tokenizer does it: repeatedly apply the lowest-ranked merge
    (`ranks[merges[i]] == i`)."""
    word = list(symbols)
    while len(word) > 1:
        pairs = [(ranks.get((a, b), len(ranks)), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
        rank, _ = min(pairs)
        if rank == len(ranks):
            break
        first, second = merges[rank]
        merged, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                merged.append(first + second)
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = merged
    return word


def check_tokenizer(tokenizer: PreTrainedTokenizerBase, source: str = "tokenizer") -> PreTrainedTokenizerBase:
    """Raise a clear error for the offline trap where `CLIPTokenizer.from_pretrained(<missing>)` returns an empty tokenizer.

    An empty CLIP tokenizer has only its special tokens, so every word maps to the same id and every prompt gets the
    same embedding — training would run and silently learn nothing.
    """
    if len(tokenizer) <= 3:
        raise ValueError(
            f"The tokenizer loaded from {source!r} has only {len(tokenizer)} tokens, so every word would map to the same "
            "id. This happens when `CLIPTokenizer.from_pretrained` is given a Hub id offline or a directory without "
            "tokenizer files. Load it with `AutoTokenizer.from_pretrained` from a directory that holds "
            "tokenizer.json (or vocab.json + merges.txt)."
        )
    return tokenizer
