"""A study as the workflow runs it: the config and its checks, the plan (datasets, seeds, protocols' settings, the
runs layout), the archive of finished trainings and the code fingerprints that decide reruns.

Layer 3: imports `bvae.model`, `bvae.data` and the base modules, never `bvae.training` (the workflow parses it
without torch).
"""

from bvae.study.archive import FILES, archive_root, archived_datasets, identity, read_archive, read_index, restore_job
from bvae.study.config import check_config
from bvae.study.fingerprint import file_fingerprint, script_fingerprint
from bvae.study.plan import (
    canonical_json,
    data_definition,
    dataset_seeds,
    files_registry,
    protocol_architectures,
    protocol_settings,
    run_dir,
    run_key,
    seed_stacks,
    simulated,
)

__all__ = [
    "FILES",
    "archive_root",
    "archived_datasets",
    "canonical_json",
    "check_config",
    "data_definition",
    "dataset_seeds",
    "file_fingerprint",
    "files_registry",
    "identity",
    "protocol_architectures",
    "protocol_settings",
    "read_archive",
    "read_index",
    "restore_job",
    "run_dir",
    "run_key",
    "script_fingerprint",
    "seed_stacks",
    "simulated",
]
