# Stage 1: every dataset as {results}/datasets/{dataset}.parquet (method §4 layout), keyed like trainings on what
# determines its bits (its definition) and the numerics version, so that a code edit rewrites no dataset.


rule simulate_dataset:
    output:
        f"{ROOT}/datasets/d{{d}}_N{{N}}.parquet",
    params:
        definition=dataset_definition,
        numerics=NUMERICS,
    log:
        f"{LOGS}/datasets/d{{d}}_N{{N}}.log",
    benchmark:
        f"{BENCHMARKS}/datasets/d{{d}}_N{{N}}.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/simulate_dataset.py"


use rule simulate_dataset as simulate_replicate with:
    output:
        f"{ROOT}/datasets/d{{d}}_N{{N}}_r{{replicate}}.parquet",
    log:
        f"{LOGS}/datasets/d{{d}}_N{{N}}_r{{replicate}}.log",
    benchmark:
        f"{BENCHMARKS}/datasets/d{{d}}_N{{N}}_r{{replicate}}.tsv"


rule import_dataset:
    input:
        lambda wildcards: FILES[wildcards.name]["path"],
    output:
        f"{ROOT}/datasets/{{name}}.parquet",
    wildcard_constraints:
        name="|".join(FILES) or "^$",
    params:
        definition=dataset_definition,  # the file's content, not its time, and its split
        numerics=NUMERICS,
    log:
        f"{LOGS}/datasets/{{name}}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/import_dataset.py"


rule example_dataset:
    output:
        f"{ROOT}/datasets/{{name}}.parquet",
    wildcard_constraints:
        name="|".join(config["examples"]) or "^$",
    params:
        definition=dataset_definition,
        numerics=NUMERICS,
    log:
        f"{LOGS}/datasets/{{name}}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/example_dataset.py"
