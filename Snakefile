# bvae-bound: the study of Sicks, Korn & Schwaar (2020) from config to tables and figures.
# Table of contents: datasets -> bounds -> training (one job per protocol, dataset, architecture, variant and seed
# stack) -> tables, the comparison with the paper and its claims -> figures.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/bounds.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


# Everything but training is seconds of work: run it where Snakemake runs, not as cluster jobs.
localrules:
    all,
    simulate_dataset,
    simulate_replicate,
    import_dataset,
    example_dataset,
    bounds,
    runs_table,
    comparison,
    comparison_figure,
    claims,
    theory_figures,
    scree,
    loss_development,


rule all:
    default_target: True
    input:
        all_outputs(),
