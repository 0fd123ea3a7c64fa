# Stage 1: every dataset as results/datasets/{dataset}.parquet (SPEC §4 layout).


rule simulate_dataset:
    output:
        "results/datasets/d{d}_N{N}.parquet",
    params:
        simulation=config["simulation"],
        code=CODE["datasets"],
    log:
        "logs/datasets/d{d}_N{N}.log",
    benchmark:
        "benchmarks/datasets/d{d}_N{N}.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/simulate_dataset.py"


rule import_dataset:
    input:
        lambda wildcards: FILES[wildcards.name]["path"],
    output:
        "results/datasets/{name}.parquet",
    wildcard_constraints:
        name="|".join(FILES) or "^$",
    params:
        entry=lambda wildcards: FILES[wildcards.name],
        code=CODE["datasets"],
    log:
        "logs/datasets/{name}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/import_dataset.py"


rule example_dataset:
    output:
        "results/datasets/{name}.parquet",
    wildcard_constraints:
        name="|".join(config["examples"]) or "^$",
    params:
        code=CODE["datasets"],
    log:
        "logs/datasets/{name}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/example_dataset.py"
