-- Immutable dataset snapshots written by `python -m transform build`.

CREATE TABLE IF NOT EXISTS snapshots (
    version                  VARCHAR PRIMARY KEY,
    created_at               TIMESTAMP NOT NULL,
    manifest_sha256          VARCHAR NOT NULL,  -- SHA-256 of manifest.json
    path                     VARCHAR NOT NULL,  -- directory holding manifest.json
    rows_instruct_train      BIGINT NOT NULL,
    rows_instruct_validation BIGINT NOT NULL,
    rows_corpus_train        BIGINT NOT NULL,
    rows_corpus_validation   BIGINT NOT NULL,
    config_json              JSON NOT NULL
);
