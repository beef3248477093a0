"""Model-card templates (Jinja, rendered by `huggingface_hub.ModelCard.from_template`), shipped as package data so
that the installed library finds them without reaching outside its packages."""

from importlib.resources import files


def template_path(name: str = "figclip_adapter.md") -> str:
    """The path of a shipped template (`figclip_adapter.md`: the card of a trained FiGCLIP adapter)."""
    return str(files(__name__).joinpath(name))
