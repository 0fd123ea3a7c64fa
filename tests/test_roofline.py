"""The benchmark's study projection plans the study as the workflow does: the package's config reader, every
protocol's own settings (canonical networks under `calibrated` train 50 epochs, not the top level's 300)."""

from bench.roofline.projection import plan_configs, projections, read_study

from tests.conftest import ROOT


def test_the_projection_of_the_full_study_takes_each_protocols_settings():
    grid = read_study(ROOT / "config.yaml")
    plan = plan_configs([1], grid, [1, 10], projection=True)
    timing = {"step_s": 0.01, "test_pass_s": 0.05, "pass_extra_sample_s": 0.01, "final_pass_s": 0.14}
    results = [
        dict(arch=arch, d=d, S=S, threads=threads, kernel="torch", by_kernel={"torch": timing}, checkpoint_save_s=0.1,
             choose_s=1.0, adam_bytes=1e6, samples_per_s=100.0 * S)
        for arch, d, S, threads in plan
    ]  # fmt: skip
    configured, *others = projections(grid, results, [1, 10])
    assert configured["trainings"] == 3600  # as `snakemake -n` counts (tests/test_workflow.py)
    epochs = {(row["protocol"], row["arch"]): row["epochs"] for row in configured["rows"]}
    assert epochs == {("calibrated", "deep"): 300, ("calibrated", "canonical"): 50}
    assert [p["stack"]["canonical"] for p in others[:3]] == [None, 1, 10] and len(others) == 4
