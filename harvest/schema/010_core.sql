-- Shared tables. Timestamps are UTC. Columns named in docs/catalog.md are a public contract:
-- only add columns (ALTER TABLE ... ADD COLUMN IF NOT EXISTS), never rename or drop.

CREATE TABLE IF NOT EXISTS catalog_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

-- One row per file kept from a Hex release or a GitHub commit; the bytes live in the blob
-- store under data/objects/<sha256[0:2]>/<sha256>.
-- (source, origin, origin_version, path) is unique: the writers replace a release's or a
-- commit's files as a whole (delete + insert in one transaction). There is deliberately no
-- PRIMARY KEY: DuckDB keeps a key's index in its buffer pool, where at a few hundred thousand
-- rows it no longer fit a crawl's memory limit (harvest.catalog.drop_source_files_key).
CREATE TABLE IF NOT EXISTS source_files (
    source         VARCHAR NOT NULL,   -- 'hex' or 'github'
    origin         VARCHAR NOT NULL,   -- package name or owner/repo
    origin_version VARCHAR NOT NULL,   -- release version or commit id
    path           VARCHAR NOT NULL,   -- path inside the package or repository
    sha256         VARCHAR NOT NULL,   -- lowercase hex SHA-256 of the file bytes
    bytes          BIGINT  NOT NULL,
    license        VARCHAR,            -- SPDX id or expression; NULL when unknown
    recorded_at    TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

-- One row per (source, origin, origin_version) that has rows in source_files, and how many.
-- replace_source_files looks a batch up here instead of scanning source_files (which at a few
-- hundred thousand rows cost a crawl tens of MB per commit); writers rebuild it on open when
-- its total disagrees with source_files (harvest.catalog.sync_source_versions).
CREATE TABLE IF NOT EXISTS source_versions (
    source         VARCHAR NOT NULL,
    origin         VARCHAR NOT NULL,
    origin_version VARCHAR NOT NULL,
    files          BIGINT  NOT NULL
);

-- One row per command run, for the summary and for auditing what a crawl did.
CREATE TABLE IF NOT EXISTS crawl_runs (
    run_id      VARCHAR PRIMARY KEY,
    command     VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,      -- running, ok, failed, interrupted
    settings    JSON,                  -- resolved settings, secrets removed
    counts      JSON
);
