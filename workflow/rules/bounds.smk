# Stage 2: the bound, its optimum and the decision support of every dataset (cheap: one job for all).


rule bounds:
    input:
        expand("results/datasets/{dataset}.parquet", dataset=DATASETS),
    output:
        bounds="results/bounds/bounds.parquet",
        eigenvalues="results/bounds/eigenvalues.parquet",
    params:
        latent_dim=config["latent_dim"],
        code=CODE["bounds"],
    log:
        "logs/bounds.log",
    benchmark:
        "benchmarks/bounds.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/bounds.py"
