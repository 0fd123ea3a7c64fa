# Stage 1: every dataset as {results}/datasets/{dataset}.parquet (method §4 layout), keyed like trainings on what
# determines its bits (its definition) and the numerics version, so that a code edit rewrites no dataset.


rule simulate_dataset:
    output:
        f"{ROOT}/datasets/d{{d}}_N{{N}}.parquet",
    log:
        f"{LOGS}/datasets/d{{d}}_N{{N}}.log",
    benchmark:
        f"{BENCHMARKS}/datasets/d{{d}}_N{{N}}.tsv"
    conda:
        CONDA_ENV
    params:
        definition=dataset_definition,
        numerics=NUMERICS,
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
        user_file,
    output:
        f"{ROOT}/datasets/{{name}}.parquet",
    log:
        f"{LOGS}/datasets/{{name}}.log",
    wildcard_constraints:
        name="|".join(FILES) or "^$",
    conda:
        CONDA_ENV
    params:
        definition=dataset_definition,  # the file's content, not its time, and its split
        numerics=NUMERICS,
    script:
        "../scripts/import_dataset.py"


rule example_dataset:
    output:
        f"{ROOT}/datasets/{{name}}.parquet",
    log:
        f"{LOGS}/datasets/{{name}}.log",
    wildcard_constraints:
        name="|".join(config["examples"]) or "^$",
    conda:
        CONDA_ENV
    params:
        definition=dataset_definition,
        numerics=NUMERICS,
    script:
        "../scripts/example_dataset.py"
