"""CUDA version of :func:`voxpost.dsp.wsola.wsola` for batches (many dubbing lines stretched at once).

WSOLA is sequential in output frames (frame ``k``'s template is the natural continuation of frame
``k - 1``'s pick), so the parallel layout is:

* one CUDA block per batch item (every item is padded by :func:`voxpost.dsp.wsola._prepare`
  exactly as on the CPU and laid end to end in flat device arrays, located by a per-item row of
  offsets in ``meta``); one launch runs the whole batch;
* inside a block the ``TPB`` (``threads_per_block``) threads share frame ``k``'s search: thread ``i`` scores candidate
  shifts ``i, i + TPB, ...`` of ``-tolerance .. tolerance``, keeps its best, and a shared-memory tree
  reduction finds the argmax with the CPU kernel's tie-break (highest score; on a tie, ``delta = 0``
  first, then the smallest ``delta``);
* the threads then overlap-add the picked frame (thread ``i`` owns taps ``i, i + TPB, ...``, all
  channels), ``syncthreads`` separating frames so that every output sample is summed in frame
  order as on the CPU; a last pass divides by the window sum.

The score is the CPU's ``<t, x[c + d]> / sqrt(energy + eps)`` with the energy from the same float64
cumulative sum (bit-identical). The dot product is accumulated in float64: the CPU kernel uses a
float32 accumulator but compiles it with ``fastmath`` reassociation, so its summation order is the
host's SIMD layout and cannot be reproduced; a float64 sum is ~4x closer to it than a sequential
float32 one. Picks therefore agree unless two candidates score within ~1e-6 (relative) of each
other. The overlap-add is the CPU's float32 arithmetic in the same order (up to FMA contraction).

No GPU has been lent to this project: the kernel is tested only in numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, tests/test_wsola_cuda.py), against :func:`wsola` item by item
(it also compiles to sm_90 PTX with ``cuda.compile_ptx``, untested on hardware).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float64, int64

from voxpost.dsp.wsola import _EPS, _prepare, hann

_NO_PRIORITY = 1 << 62


@functools.lru_cache(maxsize=None)
def _kernel(tpb: int):
    """The kernel for ``tpb`` threads per block (a compile-time constant: it sizes the shared arrays)."""
    return cuda.jit(_make(tpb))


def _make(TPB):  # noqa: N803 - a constant inside the kernel
    def _wsola_batch(x, g, cum, starts, window, meta, frame_length, hop, tol, buf, wsum, out, picked):
        b = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        x_off, n_ch, plen, g_off, c_off = meta[b, 0], meta[b, 1], meta[b, 2], meta[b, 3], meta[b, 4]
        s_off, k_frames, b_off, w_off, o_off, out_len = meta[b, 5], meta[b, 6], meta[b, 7], meta[b, 8], \
            meta[b, 9], meta[b, 10]
        half = frame_length // 2
        wlen = out_len + half
        sh_score = cuda.shared.array(TPB, float64)
        sh_prio = cuda.shared.array(TPB, int64)
        prev = 0
        for k in range(k_frames):
            nominal = starts[s_off + k]
            s = nominal
            if k > 0:
                t0 = g_off + prev + hop
                best = -math.inf
                prio = _NO_PRIORITY
                for q in range(tid, 2 * tol + 1, TPB):
                    d = q - tol
                    c0 = nominal + d
                    acc = 0.0
                    for j in range(frame_length):
                        acc += float(g[t0 + j]) * float(g[g_off + c0 + j])
                    energy = cum[c_off + c0 + frame_length] - cum[c_off + c0]
                    if energy < 0.0:                # (builtin max/min do not compile for CUDA here)
                        energy = 0.0
                    score = acc / math.sqrt(energy + _EPS)
                    p = 0 if d == 0 else q + 1          # the CPU's visiting order: delta 0, then -tol .. tol
                    if score > best or (score == best and p < prio):
                        best = score
                        prio = p
                sh_score[tid] = best
                sh_prio[tid] = prio
                cuda.syncthreads()
                step = TPB // 2
                while step > 0:
                    if tid < step:
                        o_sc = sh_score[tid + step]
                        o_pr = sh_prio[tid + step]
                        if o_sc > sh_score[tid] or (o_sc == sh_score[tid] and o_pr < sh_prio[tid]):
                            sh_score[tid] = o_sc
                            sh_prio[tid] = o_pr
                    cuda.syncthreads()
                    step //= 2
                p = sh_prio[0]
                if p > 0:
                    s = nominal + p - 1 - tol
                cuda.syncthreads()                      # everyone has read the winner before it is reused
            if tid == 0:
                picked[s_off + k] = s
            prev = s
            o = k * hop
            m = frame_length if frame_length < wlen - o else wlen - o
            for j in range(tid, m, TPB):
                w = window[j]
                for c in range(n_ch):
                    buf[b_off + c * wlen + o + j] += w * x[x_off + c * plen + s + j]
                wsum[w_off + o + j] += w
        cuda.syncthreads()
        for n in range(tid, out_len, TPB):
            w = wsum[w_off + n + half]
            if w > 1e-6:
                for c in range(n_ch):
                    out[o_off + c * out_len + n] = buf[b_off + c * wlen + n + half] / w

    return _wsola_batch


def available() -> bool:
    """True when a CUDA GPU (or the simulator) can run the kernel."""
    try:
        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver means "no GPU"
        return False


def wsola_batch_cuda(items: list[tuple[np.ndarray, np.ndarray, np.ndarray]], *, frame_length: int,
                     synthesis_hop: int, tolerance: int, threads_per_block: int = 64
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`voxpost.dsp.wsola.wsola` on every ``(samples, guide, centres)`` item, in one launch.

    Returns ``[(out, picked), ...]`` in the order of ``items``, each as :func:`wsola` returns it.
    ``threads_per_block`` (a power of two) share one item's search; more than ``2 * tolerance + 1``
    only idle.
    """
    tpb = int(threads_per_block)
    if tpb < 1 or tpb & (tpb - 1):
        raise ValueError("threads_per_block must be a power of two")
    if not items:
        return []
    preps = [_prepare(s, g, c, frame_length, synthesis_hop, tolerance) for s, g, c in items]
    frame_length, hop, tol = preps[0][4], preps[0][5], preps[0][6]
    half = frame_length // 2
    meta = np.zeros((len(preps), 11), np.int64)
    xs, gs, cums, sts = [], [], [], []
    offs = np.zeros(7, np.int64)                    # x, g, cum, starts, buf, wsum, out
    for i, (xp, gp, starts, _, _, _, _, out_len) in enumerate(preps):
        n_ch, plen = xp.shape
        meta[i] = (offs[0], n_ch, plen, offs[1], offs[2], offs[3], len(starts), offs[4], offs[5], offs[6],
                   out_len)
        xs.append(xp.ravel())
        gs.append(gp)
        cums.append(np.concatenate([[0.0], np.cumsum(gp.astype(np.float64) ** 2)]))  # = the CPU's loop
        sts.append(starts)
        offs += (n_ch * plen, plen, plen + 1, len(starts), n_ch * (out_len + half), out_len + half,
                 n_ch * out_len)
    d_buf = cuda.to_device(np.zeros(offs[4], np.float32))
    d_wsum = cuda.to_device(np.zeros(offs[5], np.float32))
    d_out = cuda.to_device(np.zeros(offs[6], np.float32))
    d_picked = cuda.to_device(np.zeros(offs[3], np.int64))
    _kernel(tpb)[len(preps), tpb](
        cuda.to_device(np.concatenate(xs)), cuda.to_device(np.concatenate(gs)),
        cuda.to_device(np.concatenate(cums)), cuda.to_device(np.concatenate(sts)),
        cuda.to_device(hann(frame_length)), cuda.to_device(meta), frame_length, hop, tol,
        d_buf, d_wsum, d_out, d_picked)
    out, picked = d_out.copy_to_host(), d_picked.copy_to_host()
    results = []
    for row, prep in zip(meta, preps):
        n_ch, o_off, out_len, s_off, k_frames = row[1], row[9], row[10], row[5], row[6]
        o = out[o_off:o_off + n_ch * out_len].reshape(n_ch, out_len).copy()
        results.append((o, picked[s_off:s_off + k_frames] - prep[3] + half))
    return results
