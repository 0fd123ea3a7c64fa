# Stage 3: every protocol x dataset x architecture x variant x seed. Seeds of one stack train in one process as one
# batched model (seeds_per_job); each seed still gets its own history.parquet and final.parquet. A rule's outputs
# are fixed by its wildcards, so each distinct stack of seeds is its own rule, serving the datasets cut into that
# stack (the protocol, dataset and variant are wildcards). Training jobs share the group "train" so that a SLURM profile can bundle many of them into one
# submission (group-components).

for arch in config["architectures"]:
    for stack, datasets in seed_stacks(config, arch).items():
        seeds = f"seeds{stack[0]}-{stack[-1]}"

        rule:
            name:
                f"train_{arch}_seeds{stack[0]}" + (f"_{stack[-1]}" if len(stack) > 1 else "")
            wildcard_constraints:
                dataset="|".join(datasets),
            input:
                dataset=dataset_file("{dataset}"),
            output:
                final=[f"{run_dir('{protocol}', '{dataset}', arch, '{variant}', s)}/final.parquet" for s in stack],
                history=[f"{run_dir('{protocol}', '{dataset}', arch, '{variant}', s)}/history.parquet" for s in stack],
            params:
                seeds=stack,
                settings=train_params(arch),
                checkpoint=f"{ROOT}/checkpoints/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{seeds}.pt",
                code=code("train.py"),
            threads: config["threads_per_job"]
            resources:
                runtime=train_resources(arch, stack)[0],
                mem_mb=train_resources(arch, stack)[1],
                cpus_per_task=config["threads_per_job"],
            group:
                "train"
            log:
                f"{LOGS}/train/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{seeds}.log",
            benchmark:
                f"{BENCHMARKS}/train/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{seeds}.tsv"
            conda:
                CONDA_ENV
            script:
                "../scripts/train.py"
