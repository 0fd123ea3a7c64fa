# Stage 5: figures. Plotting rules only read computed results, so editing a plot reruns only plots.


rule theory_figures:
    output:
        figure3=report("results/figures/figure3.png", caption="../report/figure3.rst", category="Figures"),
        figure4=report("results/figures/figure4.png", caption="../report/figure4.rst", category="Figures"),
    params:
        code=CODE["plots"],
    log:
        "logs/figures/theory.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/theory_figures.py"


rule scree:
    input:
        bounds="results/bounds/bounds.parquet",
        eigenvalues="results/bounds/eigenvalues.parquet",
    output:
        report("results/figures/scree_{dataset}.png", caption="../report/scree.rst", category="Decision support"),
    params:
        code=CODE["plots"],
    log:
        "logs/figures/scree_{dataset}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/scree.py"


rule loss_development:
    input:
        history=history_files,
        final=lambda wildcards: final_files(wildcards.dataset, wildcards.arch),
        bounds="results/bounds/bounds.parquet",
    output:
        report(
            "results/figures/loss_{dataset}_{arch}.png",
            caption="../report/loss.rst",
            category="Loss development",
            subcategory="{arch}",
        ),
    params:
        code=CODE["plots"],
    log:
        "logs/figures/loss_{dataset}_{arch}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/loss_development.py"
