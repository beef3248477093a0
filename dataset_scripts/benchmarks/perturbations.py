"""ARO's four word-order perturbations for COCO-Order / Flickr30k-Order, and BLIP's `pre_caption` normalisation.

The official benchmark (mertyg/vision-language-models-are-bows, `dataset_zoo/perturbations.py` + `aro_datasets.py`)
builds, for every caption, the options
`[original, shuffle_nouns_and_adj, shuffle_allbut_nouns_and_adj, shuffle_within_trigrams, shuffle_trigrams]`, each
passed through `pre_caption` (lower-case, `.!"()*#:;~` -> space, at most 30 words). Part-of-speech tags come from
spaCy's `en_core_web_sm` (Penn Treebank `tag_`), and the two trigram shuffles tokenise with `nltk.word_tokenize`.

Reproducing it here:

* POS tagging is injected (`Tagger`: text -> [(token, Penn tag)]), so the logic is testable without spaCy. For real runs
  `spacy_tagger()` needs `pip install spacy && python -m spacy download en_core_web_sm` (the `[aro]` extra).
* The noun/adjective shuffles draw from a NumPy `RandomState(seed)` and the trigram shuffles from `random.Random(seed)`,
  in ARO's order, which is the stream ARO's `seed_all(seed)` (default 1) gives its global generators.
* Trigram tokenisation uses `nltk.word_tokenize` when NLTK and its punkt data are installed (as ARO), otherwise the
  tagger's tokens; `TextShuffler.description` records which, and it goes into `results.json`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

import numpy as np

Tagger = Callable[[str], list[tuple[str, str]]]
WordTokenizer = Callable[[str], list[str]]

NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
ADJECTIVE_TAGS = frozenset({"JJ", "JJR", "JJS"})
ARO_ORDER_MAX_WORDS = 30
SPACY_INSTALL_HINT = (
    "ARO COCO-Order/Flickr30k-Order need spaCy's English model for part-of-speech tags: "
    "`pip install spacy` (or `pip install -e .[aro]`) then `python -m spacy download en_core_web_sm`."
)


def pre_caption(caption: str, max_words: int = ARO_ORDER_MAX_WORDS) -> str:
    """BLIP's caption normalisation used by ARO: lower-case, drop `.!"()*#:;~`, squeeze spaces, keep `max_words` words."""
    caption = re.sub(r"([.!\"()*#:;~])", " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption)
    caption = caption.rstrip("\n").strip(" ")
    words = caption.split(" ")
    if len(words) > max_words:
        caption = " ".join(words[:max_words])
    return caption


def trigrams(tokens: Sequence[str]) -> list[list[str]]:
    """Consecutive groups of three tokens; the last group keeps the remainder (1 or 2 tokens)."""
    return [list(tokens[start : start + 3]) for start in range(0, len(tokens), 3)]


def spacy_tagger(model: str = "en_core_web_sm") -> Tagger:
    """A `Tagger` backed by spaCy (Penn Treebank `token.tag_`), as ARO uses. Raises with install steps if missing."""
    try:
        import spacy
    except ImportError as error:
        raise ImportError(SPACY_INSTALL_HINT) from error
    try:
        nlp = spacy.load(model)
    except OSError as error:
        raise ImportError(f"spaCy is installed but its model {model!r} is not. {SPACY_INSTALL_HINT}") from error

    def tag(text: str) -> list[tuple[str, str]]:
        return [(token.text, token.tag_) for token in nlp(text)]

    tag.description = f"spacy:{model}"  # type: ignore[attr-defined]
    return tag


def load_pos_tagger(spec: str = "spacy") -> Tagger:
    """A tagger from a spec: `spacy` / `spacy:<model>` (ARO's choice) or `package.module:factory` (any callable that
    returns a `Tagger`, e.g. a stanza or NLTK wrapper of your own)."""
    if spec == "spacy" or spec.startswith("spacy:"):
        return spacy_tagger(spec.split(":", 1)[1] if ":" in spec else "en_core_web_sm")
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"pos_tagger must be 'spacy', 'spacy:<model>' or 'module:factory', got {spec!r}.")
    import importlib

    tagger = getattr(importlib.import_module(module_name), attribute)()
    if not hasattr(tagger, "description"):
        try:
            tagger.description = spec  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return tagger


def nltk_word_tokenizer() -> WordTokenizer | None:
    """`nltk.word_tokenize` if NLTK and its punkt data are available (ARO's trigram tokeniser), else None."""
    try:
        import nltk

        nltk.word_tokenize("a test.")
    except (ImportError, LookupError):
        return None
    return nltk.word_tokenize


class TextShuffler:
    """Seeded re-implementation of ARO's caption perturbations over an injected POS tagger."""

    def __init__(self, tagger: Tagger, word_tokenize: WordTokenizer | None = None, seed: int = 1):
        self.tagger = tagger
        self.numpy_rng = np.random.RandomState(seed)
        self.python_rng = random.Random(seed)
        if word_tokenize is None:
            word_tokenize = nltk_word_tokenizer()
            tokenizer_name = "nltk.word_tokenize" if word_tokenize is not None else "tagger tokens"
        else:
            tokenizer_name = getattr(word_tokenize, "__name__", "custom")
        self.word_tokenize: WordTokenizer = word_tokenize or (lambda text: [token for token, _ in self.tagger(text)])
        self.description = {
            "pos_tagger": getattr(tagger, "description", getattr(tagger, "__name__", "custom")),
            "trigram_tokenizer": tokenizer_name,
            "seed": seed,
        }

    def _shuffle_positions(self, tokens: np.ndarray, positions: list[int]) -> None:
        # ARO permutes `text[idx]` with NumPy's global generator; an empty selection still draws nothing.
        tokens[positions] = self.numpy_rng.permutation(tokens[positions])

    def shuffle_nouns_and_adj(self, caption: str) -> str:
        """Permute the nouns among themselves, then the adjectives among themselves."""
        tagged = self.tagger(caption)
        tokens = np.array([token for token, _ in tagged], dtype=object)
        self._shuffle_positions(tokens, [i for i, (_, tag) in enumerate(tagged) if tag in NOUN_TAGS])
        self._shuffle_positions(tokens, [i for i, (_, tag) in enumerate(tagged) if tag in ADJECTIVE_TAGS])
        return " ".join(tokens.tolist())

    def shuffle_allbut_nouns_and_adj(self, caption: str) -> str:
        """Permute every token that is neither a noun nor an adjective, keeping nouns/adjectives in place."""
        tagged = self.tagger(caption)
        tokens = np.array([token for token, _ in tagged], dtype=object)
        keep = NOUN_TAGS | ADJECTIVE_TAGS
        self._shuffle_positions(tokens, [i for i, (_, tag) in enumerate(tagged) if tag not in keep])
        return " ".join(tokens.tolist())

    def shuffle_within_trigrams(self, caption: str) -> str:
        """Shuffle the tokens inside each trigram."""
        groups = trigrams(self.word_tokenize(caption))
        for group in groups:
            self.python_rng.shuffle(group)
        return " ".join(" ".join(group) for group in groups)

    def shuffle_trigrams(self, caption: str) -> str:
        """Shuffle the order of the trigrams."""
        groups = trigrams(self.word_tokenize(caption))
        self.python_rng.shuffle(groups)
        return " ".join(" ".join(group) for group in groups)

    def caption_options(self, caption: str, max_words: int = ARO_ORDER_MAX_WORDS) -> list[str]:
        """`[original, 4 perturbations]`, each normalised by `pre_caption`; option 0 is the correct one."""
        perturbations = (
            self.shuffle_nouns_and_adj,
            self.shuffle_allbut_nouns_and_adj,
            self.shuffle_within_trigrams,
            self.shuffle_trigrams,
        )
        return [pre_caption(caption, max_words)] + [pre_caption(fn(caption), max_words) for fn in perturbations]
