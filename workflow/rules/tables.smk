# Stage 4: per protocol, all final records in one table and the paper's eight tables (Parquet, Markdown, HTML); across
# protocols, the comparison with the paper's published cells and the paper's claims decided on ours and on its cells.

import sys

from bvae.report.findings import findings

# The report's landing page (workflow/report/workflow.rst) opens on what the study found, read from these tables when
# Snakemake parses the workflow for --report only: a run never depends on them.
config["_findings"] = findings(ROOT, list(PROTOCOLS)) if "--report" in sys.argv else ""


rule runs_table:
    input:
        protocol_finals,
    output:
        f"{ROOT}/tables/{{protocol}}/runs.parquet",
    log:
        f"{LOGS}/tables/{{protocol}}/runs.log",
    conda:
        CONDA_ENV
    params:
        code=code("runs_table.py"),
    script:
        "../scripts/runs_table.py"


for arch in config["architectures"]:  # a rule per architecture: a protocol may train one of them only

    rule:
        name:
            f"paper_tables_{arch}"
        input:
            f"{ROOT}/tables/{{protocol}}/runs.parquet",
            bounds=f"{ROOT}/bounds/bounds.parquet",
        output:
            parquet=[f"{ROOT}/tables/{{protocol}}/{spec.name}.parquet" for spec in TABLES if spec.arch == arch],
            markdown=[f"{ROOT}/tables/{{protocol}}/{spec.name}.md" for spec in TABLES if spec.arch == arch],
            html=[  # the report frames HTML; a Markdown result would be a bare link there
                report(
                    f"{ROOT}/tables/{{protocol}}/{spec.name}.html",
                    caption="../report/table.rst",
                    category="Tables",
                    subcategory="{protocol}",
                    labels={
                        "table": str(spec.number),
                        "network": spec.arch,
                        "split": spec.split,
                        "statistic": spec.statistic,
                    },
                )
                for spec in TABLES
                if spec.arch == arch
            ],
        log:
            f"{LOGS}/tables/{{protocol}}/paper_tables_{arch}.log",
        wildcard_constraints:
            protocol="|".join(p for p in PROTOCOLS if arch in PROTOCOLS[p]) or "^$",
        localrule: True
        conda:
            CONDA_ENV
        params:
            tables=[spec.number for spec in TABLES if spec.arch == arch],
            code=code("paper_tables.py"),
        script:
            "../scripts/paper_tables.py"


rule comparison:
    input:
        runs=[f"{ROOT}/tables/{p}/runs.parquet" for p in PROTOCOLS],
        bounds=f"{ROOT}/bounds/bounds.parquet",
        histories=all_histories(),  # the collapse pattern reads each run's test KL per epoch
    output:
        parquet=f"{ROOT}/tables/comparison.parquet",
        fidelity=f"{ROOT}/tables/fidelity.parquet",
        markdown=f"{ROOT}/tables/comparison.md",
        html=report(
            f"{ROOT}/tables/comparison.html",
            caption="../report/comparison.rst",
            category="Comparison",
            labels={"result": "table: every compared cell"},
        ),
    log:
        f"{LOGS}/tables/comparison.log",
    conda:
        CONDA_ENV
    params:
        protocols=list(PROTOCOLS),
        datasets=DATASETS,
        epochs=config.get("compare_epochs", []),
        code=code("comparison.py"),
    script:
        "../scripts/comparison.py"


rule claims:
    input:
        runs=[f"{ROOT}/tables/{p}/runs.parquet" for p in PROTOCOLS],
        histories=all_histories(),
        bounds=f"{ROOT}/bounds/bounds.parquet",
    output:
        parquet=f"{ROOT}/tables/claims.parquet",
        markdown=f"{ROOT}/tables/claims.md",
        html=report(
            f"{ROOT}/tables/claims.html",
            caption="../report/claims.rst",
            category="Claims",
            labels={"result": "verdicts, criteria and numbers"},
        ),
        figure=report(
            f"{ROOT}/figures/claims.png",
            caption="../report/claims_figure.rst",
            category="Claims",
            labels={"result": "figure: claim 1, epochs to the bound"},
        ),
    log:
        f"{LOGS}/tables/claims.log",
    benchmark:
        f"{BENCHMARKS}/tables/claims.tsv"
    conda:
        CONDA_ENV
    params:
        thresholds=config.get("claims", {}),
        code=code("claims.py"),
    script:
        "../scripts/claims.py"
