"""Speaker clustering of the embedded diarizer: average-linkage clustering, then BIC merging.

:func:`cluster` groups the window statistics of :mod:`voxpost.speech.embeddings` into speakers
(average-linkage cosine clustering into ``params.overclusters``, then :func:`bic_merge` while one
Gaussian over two clusters is cheaper than two), and :func:`frame_assign` turns window labels
back into a speaker per 10 ms frame by majority.
"""

from __future__ import annotations

import numpy as np

from voxpost.speech.embeddings import FRAME_S, feature_windows, window_stats


def cluster(feats, speech, voiced, lo_k, hi_k, params):
    from scipy.cluster.hierarchy import fcluster, linkage

    win = int(round(params.window_s / FRAME_S))
    starts = feature_windows(speech, params)
    x = window_stats(feats, voiced, starts, win)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    if starts.size < 2 or hi_k <= 1:
        return (starts, np.zeros(starts.size, np.int64), win), 1
    z = linkage(x, method="average", metric="cosine")
    if lo_k == hi_k:
        lab = fcluster(z, lo_k, criterion="maxclust")
    else:
        lab = fcluster(z, min(params.overclusters, starts.size), criterion="maxclust")
        k = lab.max()
        if k > hi_k:
            lab = fcluster(z, hi_k, criterion="maxclust")
        elif k < lo_k:
            lab = fcluster(z, lo_k, criterion="maxclust")
    lab = lab - 1
    if lo_k != hi_k:
        lab = bic_merge(feats, voiced, starts, win, lab, lo_k, hi_k, params)
    # drop tiny clusters (under 5 % of windows) when a speaker count was not imposed
    counts = np.bincount(lab)
    if lo_k != hi_k:
        big = np.flatnonzero(counts >= max(2, 0.05 * lab.size))
        big = big if big.size >= lo_k else np.argsort(-counts)[:lo_k]
    else:
        big = np.flatnonzero(counts > 0)
    if big.size <= 1:
        return (starts, np.zeros(starts.size, np.int64), win), 1
    cent = np.stack([x[lab == c].mean(axis=0) for c in big])
    xn = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    cn = cent / (np.linalg.norm(cent, axis=1, keepdims=True) + 1e-9)
    lab = np.argmax(xn @ cn.T, axis=1)
    return (starts, lab, win), big.size


def frame_assign(n, starts, lab, win, k):
    votes = np.zeros((n + 1, k))
    for c in range(k):
        s = starts[lab == c]
        np.add.at(votes[:, c], s, 1.0)
        np.add.at(votes[:, c], np.minimum(s + win, n), -1.0)
    votes = np.cumsum(votes, axis=0)[:n]
    return np.where(votes.sum(axis=1) > 0, np.argmax(votes, axis=1), -1)


def bic_merge(feats, voiced, starts, win, lab, lo_k, hi_k, params):
    """Merge clusters pairwise while the BIC of one full-covariance Gaussian over both clusters'
    voiced frames beats two separate Gaussians (classical BIC speaker clustering)."""
    x = feats[:, :params.bic_dims]
    d = x.shape[1]
    lab = np.unique(lab, return_inverse=True)[1]
    while True:
        k = lab.max() + 1
        if k <= max(lo_k, 1):
            return lab
        frame = frame_assign(x.shape[0], starts, lab, win, k)
        stats = []
        for c in range(k):
            xs = x[voiced & (frame == c)]
            if xs.shape[0] < 2:
                xs = x[frame == c] if (frame == c).sum() >= 2 else x[:2]
            stats.append((xs.shape[0], xs.sum(axis=0), xs.T @ xs))
        def logdet(n, s1, s2):
            m = s1 / n
            cov = s2 / n - np.outer(m, m) + 1e-3 * np.eye(d)
            return np.linalg.slogdet(cov)[1]
        best, pair = np.inf, None
        for a in range(k):
            for b in range(a + 1, k):
                na, sa, qa = stats[a]
                nb, sb, qb = stats[b]
                n = na + nb
                dbic = 0.5 * (n * logdet(n, sa + sb, qa + qb) - na * logdet(na, sa, qa) - nb * logdet(nb, sb, qb))
                dbic -= params.bic_lambda * 0.5 * (d + d * (d + 1) / 2) * np.log(n)
                if dbic < best:
                    best, pair = dbic, (a, b)
        if best >= 0 and k <= hi_k:
            return lab
        a, b = pair
        lab = np.where(lab == b, a, lab)
        lab = np.unique(lab, return_inverse=True)[1]


__all__ = ["cluster", "frame_assign", "bic_merge"]
