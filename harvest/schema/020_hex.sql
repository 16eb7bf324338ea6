-- Hex.pm packages and releases, from the signed registry on the repository.

CREATE TABLE IF NOT EXISTS hex_packages (
    name               VARCHAR PRIMARY KEY,  -- exactly as in the registry (case-sensitive)
    repository         VARCHAR NOT NULL,     -- 'hexpm' for the public repository
    versions           VARCHAR[],            -- every version in the registry, ascending
    retired_versions   VARCHAR[],
    latest_stable      VARCHAR,              -- highest non-pre-release version, NULL if none
    registry_updated_at TIMESTAMP,           -- Names.updated_at
    package_etag       VARCHAR,              -- ETag of /packages/NAME last fetched
    package_fetched_at TIMESTAMP,
    downloads_all      BIGINT,               -- from the API (extras), NULL if not fetched
    downloads_recent   BIGINT,
    description        VARCHAR,
    licenses           VARCHAR[],
    api_updated_at     TIMESTAMP
);

CREATE TABLE IF NOT EXISTS hex_releases (
    package          VARCHAR NOT NULL,
    version          VARCHAR NOT NULL,
    outer_checksum   VARCHAR,       -- lowercase hex SHA-256 of the whole .tar (registry value)
    inner_checksum   VARCHAR,       -- lowercase hex of the tarball's CHECKSUM file
    licenses         VARCHAR[],     -- from metadata.config
    retired_reason   VARCHAR,       -- other, invalid, security, deprecated, renamed, or NULL
    retired_message  VARCHAR,
    published_at     TIMESTAMP,
    status           VARCHAR NOT NULL,  -- fetched, failed, quarantined, skipped
    error            VARCHAR,       -- why it failed, was quarantined or skipped
    app              VARCHAR,
    description      VARCHAR,
    build_tools      VARCHAR[],
    elixir_requirement VARCHAR,
    links            JSON,          -- {"GitHub": "https://..."}
    requirements     JSON,          -- [{"name", "app", "requirement", "optional", "repository"}]
    tarball_bytes    BIGINT,
    files_kept       INTEGER,
    is_prerelease    BOOLEAN,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (package, version)
);

-- Conditional-request state for registry resources (/names, /versions, /packages/NAME).
CREATE TABLE IF NOT EXISTS hex_registry_cache (
    url         VARCHAR PRIMARY KEY,
    etag        VARCHAR,
    body_sha256 VARCHAR,           -- the cached signed body, kept in the blob store
    fetched_at  TIMESTAMP NOT NULL
);

-- Set when a package disappears from /versions (Hex deletes new packages within 24 h and
-- administrators may remove anything); the rows stay so snapshots remain explainable.
ALTER TABLE hex_releases ADD COLUMN IF NOT EXISTS removed_at TIMESTAMP;
