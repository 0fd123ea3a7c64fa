# Stage 2: the bound, its optimum and the decision support of every dataset (cheap: one job for all).


rule bounds:
    input:
        [dataset_file(dataset) for dataset in DATASETS],
    output:
        bounds=f"{ROOT}/bounds/bounds.parquet",
        eigenvalues=f"{ROOT}/bounds/eigenvalues.parquet",
    log:
        f"{LOGS}/bounds.log",
    benchmark:
        f"{BENCHMARKS}/bounds.tsv"
    conda:
        CONDA_ENV
    params:
        latent_dim=config["latent_dim"],
        code=code("bounds.py"),
    script:
        "../scripts/bounds.py"
