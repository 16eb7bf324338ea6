-- GitHub repositories found by the GraphQL search.

CREATE TABLE IF NOT EXISTS github_repos (
    id               VARCHAR PRIMARY KEY,  -- GraphQL node id
    database_id      BIGINT,
    name_with_owner  VARCHAR NOT NULL,
    url              VARCHAR,
    description      VARCHAR,
    stars            INTEGER,
    forks            INTEGER,
    is_fork          BOOLEAN,
    is_archived      BOOLEAN,
    is_mirror        BOOLEAN,
    is_template      BOOLEAN,
    is_empty         BOOLEAN,
    license_spdx     VARCHAR,       -- licenseInfo.spdxId: NULL (none found) or NOASSERTION possible
    license_key      VARCHAR,
    license_permissive BOOLEAN,     -- spdx id on the permissive allow-list
    default_branch   VARCHAR,
    commit_oid       VARCHAR,       -- pinned commit of the default branch
    committed_at     TIMESTAMP,
    created_at       TIMESTAMP,
    pushed_at        TIMESTAMP,
    disk_usage_kb    BIGINT,
    primary_language VARCHAR,
    topics           VARCHAR[],
    status           VARCHAR NOT NULL,  -- fetched, failed, skipped
    error            VARCHAR,
    files_kept       INTEGER,
    tarball_bytes    BIGINT,
    updated_at       TIMESTAMP NOT NULL
);
