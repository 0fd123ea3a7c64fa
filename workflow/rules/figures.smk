# Stage 5: figures. Plotting rules only read computed results, so editing a plot reruns only plots.

# The report lists results sorted by their labels as text: dataset_labels pads the numbers in dataset names, so that
# d30 comes before d200 and N5000 before N10000.
from bvae.report.labels import dataset_labels


rule theory_figures:
    output:
        figure3=report(
            f"{ROOT}/figures/figure3.png",
            caption="../report/figure3.rst",
            category="The bound",
            labels={"figure": "Figure 3: the Taylor bound of h"},
        ),
        figure4=report(
            f"{ROOT}/figures/figure4.png",
            caption="../report/figure4.rst",
            category="The bound",
            labels={"figure": "Figure 4: the third derivative of h"},
        ),
    log:
        f"{LOGS}/figures/theory.log",
    conda:
        CONDA_ENV
    params:
        code=code("theory_figures.py"),
    script:
        "../scripts/theory_figures.py"


rule scree:
    input:
        bounds=f"{ROOT}/bounds/bounds.parquet",
        eigenvalues=f"{ROOT}/bounds/eigenvalues.parquet",
    output:
        report(
            f"{ROOT}/figures/scree_{{dataset}}.png",
            caption="../report/scree.rst",
            category="Decision support",
            labels=dataset_labels(DATASETS, figure="scree plot"),
        ),
    log:
        f"{LOGS}/figures/scree_{{dataset}}.log",
    conda:
        CONDA_ENV
    params:
        code=code("scree.py"),
    script:
        "../scripts/scree.py"


rule loss_development:
    input:
        history=history_files,
        final=cell_finals,
        bounds=f"{ROOT}/bounds/bounds.parquet",
    output:
        report(
            f"{ROOT}/figures/{{protocol}}/loss_{{dataset}}_{{arch}}.png",
            caption="../report/loss.rst",
            category="Loss development",
            subcategory="{protocol}, {arch}",
            labels=dataset_labels(DATASETS, network="{arch}", protocol="{protocol}"),
        ),
    log:
        f"{LOGS}/figures/{{protocol}}/loss_{{dataset}}_{{arch}}.log",
    conda:
        CONDA_ENV
    params:
        code=code("loss_development.py"),
    script:
        "../scripts/loss_development.py"


rule comparison_figure:
    input:
        f"{ROOT}/tables/comparison.parquet",
    output:
        report(
            f"{ROOT}/figures/comparison.png",
            caption="../report/comparison_figure.rst",
            category="Comparison",
            labels={"result": "figure: ours beside the published ranges"},
        ),
    log:
        f"{LOGS}/figures/comparison.log",
    conda:
        CONDA_ENV
    params:
        code=code("comparison_figure.py"),
    script:
        "../scripts/comparison_figure.py"
