# Stage 2: the bound, its optimum and the decision support of every dataset (cheap: one job for all), the bound at
# every latent size a protocol trains (a protocol's claims read the bound at its own).


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
        latent_dims=sorted({settings["latent_dim"] for archs in PROTOCOLS.values() for settings in archs.values()}),
        code=code("bounds.py"),
    script:
        "../scripts/bounds.py"
