# Stage 3: every dataset x architecture x variant x seed. Seeds of one stack train in one process as one batched
# model (seeds_per_job); each seed still gets its own history.parquet and final.parquet. Training jobs share the
# group "train" so that a SLURM profile can bundle many of them into one submission (group-components).

for arch in config["architectures"]:
    for stack in seed_stacks(arch):

        rule:
            name:
                f"train_{arch}_seeds{stack[0]}" + (f"_{stack[-1]}" if len(stack) > 1 else "")
            input:
                dataset="results/datasets/{dataset}.parquet",
            output:
                final=[f"{run_dir('{dataset}', arch, '{variant}', s)}/final.parquet" for s in stack],
                history=[f"{run_dir('{dataset}', arch, '{variant}', s)}/history.parquet" for s in stack],
            params:
                seeds=stack,
                settings={**TRAIN_SETTINGS, "arch": arch, "hidden": config["hidden"],
                          "threads": config["threads_per_job"]},
                checkpoint=f"results/checkpoints/{{dataset}}/{arch}/{{variant}}/seeds{stack[0]}-{stack[-1]}.pt",
                code=CODE["train"],
            threads: config["threads_per_job"]
            resources:
                runtime=train_resources(arch, stack)[0],
                mem_mb=train_resources(arch, stack)[1],
                cpus_per_task=config["threads_per_job"],
            group:
                "train"
            log:
                f"logs/train/{{dataset}}/{arch}/{{variant}}/seeds{stack[0]}-{stack[-1]}.log",
            benchmark:
                f"benchmarks/train/{{dataset}}/{arch}/{{variant}}/seeds{stack[0]}-{stack[-1]}.tsv"
            conda:
                CONDA_ENV
            script:
                "../scripts/train.py"
