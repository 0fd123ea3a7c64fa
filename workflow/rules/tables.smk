# Stage 4: all final records in one table, then the paper's eight tables (Parquet + Markdown).


rule runs_table:
    input:
        final_files(),
    output:
        "results/tables/runs.parquet",
    params:
        code=CODE["tables"],
    log:
        "logs/tables/runs.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/runs_table.py"


rule paper_tables:
    input:
        "results/tables/runs.parquet",
        bounds="results/bounds/bounds.parquet",
    output:
        parquet=[f"results/tables/{spec.name}.parquet" for spec in TABLE_SPECS],
        markdown=[
            report(f"results/tables/{spec.name}.md", caption="../report/table.rst", category="Tables")
            for spec in TABLE_SPECS
        ],
    params:
        tables=[spec.number for spec in TABLE_SPECS],
        code=CODE["tables"],
    log:
        "logs/tables/paper_tables.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/paper_tables.py"
