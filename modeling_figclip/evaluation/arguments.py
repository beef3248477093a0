"""Command-line / YAML arguments of `recipes/evaluate_figclip.py` (one dataclass, parsed with `HfArgumentParser`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..preflight import device_problem, offline_hub_model_problem, output_dir_problem, output_file_problem

TASKS: tuple[str, ...] = (
    "sugarcrepe",
    "aro_vg_relation",
    "aro_vg_attribution",
    "aro_coco_order",
    "aro_flickr_order",
    "msrvtt",
    "video_retrieval",
    "ucf101",
    "hmdb51",
    "k600",
    "vidsitu_verbs",
    "extract_features",
)
DEFAULT_NUM_FRAMES = {"msrvtt": 12, "video_retrieval": 12, "ucf101": 32, "hmdb51": 32, "k600": 32}


@dataclass
class EvaluationArguments:
    """Arguments of one evaluation run (`--task`) or of a suite run (`--suite`); see `recipes/eval/*.yaml`."""

    model: str | None = field(
        default=None,
        metadata={"help": "Model directory or Hub id: plain CLIP, FiGCLIP, merged FiGCLIP, or a FiGCLIP adapter."},
    )
    task: str | None = field(default=None, metadata={"help": "Task to run.", "choices": list(TASKS)})
    data_dir: str | None = field(default=None, metadata={"help": "Folder with the benchmark's official files."})
    image_dir: str | None = field(
        default=None,
        metadata={
            "help": "Image folder (SugarCrepe: COCO val2017; ARO VG: default data_dir/images; Order: default data_dir)."
        },
    )
    video_dir: str | None = field(default=None, metadata={"help": "Video folder (default: data_dir/videos)."})
    output: str | None = field(default=None, metadata={"help": "Where to write results.json (default: print only)."})
    config: str | None = field(
        default=None,
        init=False,
        metadata={"help": "YAML file of these arguments; the CLI overrides it (parsed by modeling_figclip.cli_utils)."},
    )
    suite: str | None = field(default=None, metadata={"help": "Suite YAML: several models x tasks -> table + chart."})
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Suite output folder / extract_features output folder (overrides the suite YAML's output_dir)."
        },
    )

    adapter_scales: str | None = field(
        default=None,
        metadata={"help": "FiGCLIP adapters: evaluate the task at every adapter scale α, e.g. 0,0.25,0.5,0.75,1 "
                          "(set_adapter_scale; 0 = the base, 1 = as trained) in one run; writes tradeoff.{json,md,png} "
                          "to --output_dir."},
    )
    feature_ensembles: str | None = field(
        default=None,
        metadata={"help": "FiGCLIP adapters: also evaluate at every feature-ensemble weight λ, e.g. 0.25,0.5 "
                          "(set_feature_ensemble: images read out as normalize((1 − λ)·base + λ·adapted))."},
    )
    batch_size: int = field(default=64, metadata={"help": "Images or texts per forward pass (videos: frames)."})
    num_workers: int = field(default=0, metadata={"help": "DataLoader workers that decode images/videos."})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda, cuda:1 ... (default: cuda if available)."})
    dtype: str = field(
        default="float32", metadata={"help": "Model dtype.", "choices": ["float32", "float16", "bfloat16"]}
    )
    skip_missing: bool = field(
        default=False,
        metadata={
            "help": "Skip missing files / malformed rows and report how many in results.json, instead of failing."
        },
    )
    max_items: int | None = field(default=None, metadata={"help": "Evaluate only the first N items (debugging)."})
    seed: int = field(default=1, metadata={"help": "Seed (ARO Order shuffles use ARO's default 1; probe training)."})
    ties: str = field(
        default="expected",
        metadata={
            "help": "How exactly equal scores count: expected (uniformly random tie-breaking; chance for a collapsed "
            "model), optimistic, pessimistic, or official (each benchmark's own code, ties included).",
            "choices": ["expected", "optimistic", "pessimistic", "official"],
        },
    )
    bootstrap_resamples: int = field(
        default=1000,
        metadata={"help": "Bootstrap resamples for the 95% confidence interval of every metric (0: no intervals)."},
    )
    bootstrap_seed: int = field(default=0, metadata={"help": "Seed of the bootstrap resampling."})
    show_progress: bool = field(default=True, metadata={"help": "Show tqdm progress bars."})

    subsets: str | None = field(default=None, metadata={"help": "SugarCrepe: comma-separated subsets to run."})
    csv_file: str | None = field(
        default=None,
        metadata={"help": "Retrieval CSV with video_id,sentence (default data_dir/MSRVTT_JSFUSION_test.csv)."},
    )
    num_frames: int | None = field(
        default=None,
        metadata={"help": "Frames sampled uniformly per video (default 12 for retrieval, 32 for action recognition)."},
    )
    use_contextualizer: bool = field(
        default=False,
        metadata={
            "help": "Use the Video Contextualizer's video/event embeddings (FiGCLIP only; the paper uses CLIP-level)."
        },
    )
    similarity_chunk_size: int = field(default=1024, metadata={"help": "Query rows per similarity block."})
    templates: str = field(
        default="classname",
        metadata={
            "help": "Action-recognition prompts: bare class name (ViFi-CLIP/X-CLIP) or CLIP's template ensemble.",
            "choices": ["classname", "clip"],
        },
    )
    splits: str | None = field(
        default=None, metadata={"help": "Action recognition: e.g. '1' or '1,2,3' (default: all present)."}
    )

    pos_tagger: str = field(
        default="spacy",
        metadata={"help": "ARO Order POS tagger: spacy (en_core_web_sm, as ARO), spacy:<model>, or module:factory."},
    )

    vidsitu_split: str = field(default="valid", metadata={"help": "VidSitu split to evaluate / extract."})
    frames_per_event: int = field(default=4, metadata={"help": "VidSitu: frames sampled per 2 s event (paper: 4)."})
    frame_cache: str | None = field(
        default=None,
        metadata={"help": "VidSitu: read the evaluation frames from this frame cache (built for the model's input size) "
                          "instead of decoding the videos."},
    )
    probe: str = field(
        default="none",
        metadata={
            "help": "vidsitu_verbs: none = zero-shot, linear/mlp = classifier on frozen event embeddings trained on train.",
            "choices": ["none", "linear", "mlp"],
        },
    )
    probe_epochs: int = field(default=30, metadata={"help": "Probe training epochs."})
    probe_lr: float = field(default=1e-3, metadata={"help": "Probe learning rate (AdamW)."})
    probe_weight_decay: float = field(default=1e-4, metadata={"help": "Probe weight decay."})
    probe_hidden_size: int = field(default=512, metadata={"help": "Hidden width of the mlp probe."})
    probe_batch_size: int = field(default=256, metadata={"help": "Probe training batch size (events)."})
    predictions_file: str | None = field(
        default=None, metadata={"help": "vidsitu_verbs: leaderboard-format predictions (default: next to --output)."}
    )
    features_format: str = field(
        default="npy", metadata={"help": "extract_features file format.", "choices": ["npy", "safetensors"]}
    )

    def frames_for(self, task: str) -> int:
        return self.num_frames or DEFAULT_NUM_FRAMES.get(task, 12)

    def subset_list(self) -> list[str] | None:
        return [s.strip() for s in self.subsets.split(",") if s.strip()] if self.subsets else None

    def split_list(self) -> list[int] | None:
        if not self.splits:
            return None
        try:
            return [int(s) for s in str(self.splits).split(",") if s.strip()]
        except ValueError as error:
            raise ValueError(f"--splits must be comma-separated integers, got {self.splits!r}.") from error

    def validate_single_run(self) -> None:
        """Check what one `--task` run needs (the parser cannot require fields that YAML may provide)."""
        missing = [name for name in ("model", "task", "data_dir") if not getattr(self, name)]
        if missing:
            raise ValueError(
                f"missing required argument(s): {', '.join('--' + m for m in missing)} "
                "(on the command line or in --config)."
            )
        if self.task not in TASKS:
            raise ValueError(f"unknown --task {self.task!r}; choose one of {list(TASKS)}.")

    def check_machine(self) -> None:
        """Raise `ValueError` for what this machine would refuse only once the run is under way: a device it lacks, an
        output path that cannot be written (found now, not after the evaluation), a Hub model not cached offline."""
        problems = [
            device_problem(self.device, "--device"),
            self.output and output_file_problem(self.output, "--output"),
            self.predictions_file and output_file_problem(self.predictions_file, "--predictions_file"),
            self.output_dir and output_dir_problem(self.output_dir, "--output_dir"),
            self.model and offline_hub_model_problem(self.model, "--model"),
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            raise ValueError(" ".join(problems))


ARGUMENT_NAMES = frozenset(f.name for f in fields(EvaluationArguments) if f.init)
