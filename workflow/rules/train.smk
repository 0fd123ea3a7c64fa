# Stage 3: every protocol x dataset x architecture x variant x seed. Each seed gets its own history.parquet and
# final.parquet. With seeds_per_job 1 (the default) one rule per architecture trains one seed per job ({seed} is a
# wildcard). Seeds of a stack train in one process as one batched model (seeds_per_job > 1); a rule's outputs are
# fixed by its wildcards, so each distinct stack is a rule of its own, serving the datasets cut into that stack.
# Training jobs share the group "train" so that a SLURM profile can bundle many of them into one submission.
# With an archive (config `archive:`), every training it holds is restored from it instead (rule restore_run).


for arch in config["architectures"]:
    for name, seeds, seeds_param, label, datasets in training_layouts(arch):

        rule:
            name:
                name
            input:
                dataset=dataset_file("{dataset}"),
            output:
                final=[f"{run_dir('{protocol}', '{dataset}', arch, '{variant}', s)}/final.parquet" for s in seeds],
                history=[f"{run_dir('{protocol}', '{dataset}', arch, '{variant}', s)}/history.parquet" for s in seeds],
            log:
                f"{LOGS}/train/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{label}.log",
            benchmark:
                f"{BENCHMARKS}/train/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{label}.tsv"
            wildcard_constraints:
                dataset="|".join(datasets),
            group:
                "train"
            conda:
                CONDA_ENV
            threads: config["threads_per_job"]
            resources:
                runtime=train_resources(arch, len(seeds))[0],
                mem_mb=train_resources(arch, len(seeds))[1],
                cpus_per_task=config["threads_per_job"],
            params:
                seeds=seeds_param,
                settings=train_params(arch),
                run_only=run_only(arch),
                checkpoint=f"{ROOT}/checkpoints/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{label}.pt",
                numerics=NUMERICS,  # not the code's bytes: a comment or a moved module retrains nothing
            script:
                "../scripts/train.py"

        if config["archive"]:  # the same jobs, restored from the archive when it holds every seed of one

            rule:
                name:
                    name.replace("train_", "restore_", 1)
                input:
                    unpack(archived(arch, seeds_param)),
                    dataset=dataset_file("{dataset}"),  # a record is restored only beside the data it was trained on
                output:
                    final=[f"{run_dir('{protocol}', '{dataset}', arch, '{variant}', s)}/final.parquet" for s in seeds],
                    history=[
                        f"{run_dir('{protocol}', '{dataset}', arch, '{variant}', s)}/history.parquet" for s in seeds
                    ],
                log:
                    f"{LOGS}/restore/{{protocol}}/{{dataset}}/{arch}/{{variant}}/{label}.log",
                wildcard_constraints:
                    dataset="|".join(datasets),
                localrule: True
                conda:
                    CONDA_ENV
                params:
                    identities=archived_identities(arch, seeds_param),
                script:
                    "../scripts/restore_run.py"

            workflow.ruleorder(name.replace("train_", "restore_", 1), name)  # archived: restored, not trained
