"""Near-dedup with vectorised MinHash + LSH banding + connected components, all in numpy.

The pipeline, batch-wise and without a Python loop per token or per shingle:

1. Word tokens (runs of [0-9A-Za-z_] and non-ASCII bytes, BigCode's tokenisation) are hashed
   with a polynomial over their bytes, computed for a whole batch of texts at once.
2. Each run of `ngram` consecutive tokens inside one text is a shingle (a text shorter than
   that is one shingle); shingle hashes are mixed with the splitmix64 finaliser.
3. The `num_perm` registers come from one-permutation hashing: a seeded hash of each shingle
   picks a register (its top bits) and competes for that register's minimum (its low 32 bits);
   empty registers are filled by optimal densification (Shrivastava, ICML 2017). The collision
   probability per register equals the Jaccard similarity, as for `num_perm` independent
   permutations, at the cost of one hash per shingle instead of `num_perm`.
4. The signature is cut into `bands` x `rows`; each band is hashed to one uint64 key.
5. Items sharing a key in any band are joined; components come from min-label propagation with
   pointer jumping, so each item's label is the smallest index in its component. With items
   numbered in preference order, `label == index` marks the one representative kept.

All constants derive from `DedupConfig.seed`, so results are identical across runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from transform.config import DedupConfig

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_WORD_BYTE = np.zeros(256, dtype=bool)
for _c in b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_":
    _WORD_BYTE[_c] = True
_WORD_BYTE[128:] = True
_EMPTY = np.uint32(0xFFFFFFFF)
_PROBES = 16  # probe steps tried per vectorised pass of densification


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised (uint64 arithmetic wraps by design)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


_P = np.uint32(16777619)  # odd, so it has an inverse modulo 2**32
_P_INV = np.uint32(pow(16777619, -1, 2**32))
_POWERS = {"p": np.ones(1, np.uint32), "inv": np.ones(1, np.uint32)}


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i modulo 2**32 for i < n, cached per process (grown by doubling)."""
    if len(_POWERS["p"]) < n:
        size = 1 << (n - 1).bit_length()
        for name, base in (("p", _P), ("inv", _P_INV)):
            table = np.full(size, base, dtype=np.uint32)
            table[0] = 1
            _POWERS[name] = np.cumprod(table, out=table)
    return _POWERS["p"][:n], _POWERS["inv"]


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of all word tokens of `texts` and the number of tokens per text.

    A token's hash is sum((byte+1) * P**i) over its bytes (mod 2**32, then mixed to 64 bits):
    one prefix sum over the whole batch, then each token's slice of it is shifted back to
    position 0 with the inverse of P. uint32 halves the memory traffic of these passes.
    """
    parts = [t.encode("utf-8", "surrogatepass") for t in texts]
    buf = np.frombuffer(b"\n".join(parts), dtype=np.uint8)
    if buf.size == 0:
        return np.zeros(0, np.uint64), np.zeros(len(texts), np.int64)
    powers, inverse = _power_tables(buf.size)
    word = _WORD_BYTE[buf]
    values = buf.astype(np.uint32)
    values += np.uint32(1)
    values *= word
    values *= powers
    prefix = np.cumsum(values, dtype=np.uint32)
    edges = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    before = np.where(starts > 0, prefix[np.maximum(starts - 1, 0)], np.uint32(0))
    hashes = _mix(((prefix[ends - 1] - before) * inverse[starts]).astype(np.uint64))
    text_ends = np.cumsum([len(p) + 1 for p in parts])
    counts = np.bincount(np.searchsorted(text_ends, starts, side="right"), minlength=len(texts))
    return hashes, counts.astype(np.int64)


def shingle_hashes(tokens: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of n-token shingles per text, and each shingle's text index (non-decreasing)."""
    doc = np.repeat(np.arange(len(counts)), counts)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    weights = _mix(np.arange(1, n + 1, dtype=np.uint64))
    m = len(tokens)
    full = np.zeros(max(m - n + 1, 0), dtype=np.uint64)
    for k in range(n):
        full += tokens[k : m - n + 1 + k] * weights[k]
    valid = doc[: len(full)] == doc[n - 1 :] if len(full) else np.zeros(0, bool)
    short = np.flatnonzero((counts > 0) & (counts < n))
    short_hash = np.zeros(len(short), dtype=np.uint64)
    for k in range(n - 1):
        has = counts[short] > k
        short_hash[has] += tokens[offsets[short][has] + k] * weights[k]
    hashes = np.concatenate((full[valid], short_hash))
    docs = np.concatenate((doc[: len(full)][valid], short))
    order = np.argsort(docs, kind="stable")
    return _mix(hashes[order]), docs[order]


class MinHasher:
    """Signatures and LSH band keys for batches of texts, at fixed parameters and seed."""

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        rng = np.random.default_rng(cfg.seed)
        self.salt = rng.integers(0, 2**64 - 1, dtype=np.uint64)
        k = cfg.num_perm
        orders = [rng.permutation(k) for _ in range(k)]
        self.probe = np.stack([order[order != j] for j, order in enumerate(orders)])
        self.band_weights = _mix(np.arange(1, cfg.rows + 1, dtype=np.uint64) + np.uint64(cfg.seed))

    def signatures(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, num_perm) uint32 signatures and a mask of texts that had any token."""
        tokens, counts = token_hashes(texts)
        shingles, docs = shingle_hashes(tokens, counts, self.cfg.ngram)
        k = self.cfg.num_perm
        shingles = _mix(shingles ^ self.salt)
        bins = ((shingles >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32)
        sig = np.full(len(texts) * k, _EMPTY, dtype=np.uint32)
        np.minimum.at(sig, docs * k + bins.astype(np.int64), shingles.astype(np.uint32))
        sig = sig.reshape(len(texts), k)
        has = counts > 0
        self._densify(sig, has)
        return sig, has

    def _densify(self, sig: np.ndarray, has: np.ndarray) -> None:
        """Fill empty bins from the first non-empty bin in that bin's fixed probe order.

        The probe order depends only on the bin, never on the text, so two texts borrow from the
        same bin exactly when it is their first shared non-empty one: collision probability
        stays equal to the Jaccard similarity (optimal densification).
        """
        rows, cols = np.nonzero((sig == _EMPTY) & has[:, None])
        original = sig.copy()
        for lo in range(0, self.cfg.num_perm - 1, _PROBES):
            if len(rows) == 0:
                return
            values = original[rows[:, None], self.probe[cols, lo : lo + _PROBES]]
            hit = values != _EMPTY
            found = hit.any(axis=1)
            first = hit.argmax(axis=1)
            sig[rows[found], cols[found]] = values[found, first[found]]
            rows, cols = rows[~found], cols[~found]

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        """(n, bands) uint64 keys; equal keys in a band mean a candidate duplicate pair."""
        b, r = self.cfg.bands, self.cfg.rows
        used = sig[:, : b * r].astype(np.uint64).reshape(len(sig), b, r)
        return _mix((used * self.band_weights).sum(axis=2, dtype=np.uint64))

    def keys_for(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Band keys for `texts`, plus the has-tokens mask (texts without tokens never match)."""
        sig, has = self.signatures(texts)
        return self.band_keys(sig), has


def candidate_edges(
    keys: np.ndarray, active: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first, other) of items sharing a band key; each equal-key run becomes a star."""
    n = len(keys)
    ids = np.arange(n) if active is None else np.flatnonzero(active)
    us, vs = [], []
    for band in range(keys.shape[1]):
        col = keys[ids, band]
        order = np.argsort(col, kind="stable")
        ks, members = col[order], ids[order]
        start = np.concatenate(([True], ks[1:] != ks[:-1]))
        first = members[start][np.cumsum(start) - 1]
        dup = ~start
        us.append(first[dup])
        vs.append(members[dup])
    return np.concatenate(us or [np.zeros(0, np.int64)]), np.concatenate(
        vs or [np.zeros(0, np.int64)]
    )


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Label of each of n items = smallest item index in its connected component."""
    labels = np.arange(n)
    if len(u) == 0:
        return labels
    while True:
        low = np.minimum(labels[u], labels[v])
        new = labels.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, v, low)
        new = new[new]
        if np.array_equal(new, labels):
            return labels
        labels = new


def cluster(keys: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """Cluster labels for items numbered in preference order; `label == index` is kept."""
    u, v = candidate_edges(keys, active)
    return components(len(keys), u, v)
