-- QLoRA runs written by `python -m train qlora`.

CREATE TABLE IF NOT EXISTS training_runs (
    run_id                   VARCHAR PRIMARY KEY,
    snapshot_version         VARCHAR,
    snapshot_manifest_sha256 VARCHAR,
    base_model               VARCHAR,
    config_json              JSON,
    status                   VARCHAR NOT NULL,  -- running, finished, failed
    started_at               TIMESTAMP NOT NULL,
    finished_at              TIMESTAMP,
    train_loss               DOUBLE,
    eval_loss                DOUBLE,
    eval_perplexity          DOUBLE,
    adapter_path             VARCHAR,
    adapter_sha256           VARCHAR,
    stage                    VARCHAR,           -- corpus or instruct
    init_adapter             VARCHAR,           -- run id the adapter started from
    global_step              BIGINT,
    error                    VARCHAR
);
