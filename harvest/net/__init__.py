"""HTTP plumbing shared by the crawlers: client, retry policy, rate limiter, streaming download."""
