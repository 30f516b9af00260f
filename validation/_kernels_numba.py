"""Compiled time-stepping kernel of ``validation.simulate`` (numba, optional).

Imported lazily by ``validation.simulate`` only when the numba backend is used. The
kernel performs exactly the floating-point operations of the numpy path, in the same
order, on random numbers drawn by numpy; so both backends give identical spikes for the
same seed. See ``validation.simulate`` for the model and the step order.

Each step is one loop that LLVM vectorises (membrane update and decay of the currents)
and two sparse loops (threshold scan, one addition per synapse of the spikes). Compiled
functions are cached on disk (``cache=True``): the first call in a fresh environment
compiles for a few seconds, later processes load the cache.
"""

from __future__ import annotations

import math

import numba

__all__ = ["run_steps"]

OK, BUFFER_FULL, NONFINITE = 0, 1, 2


# The loops below index from 0 over population slices: with a variable start numba emits
# negative-index wrap-around checks that stop LLVM from vectorising (2x slower).
@numba.njit(cache=True)
def _membrane_lif(n, V, U0, U1, U2, ref_until, C, has_c, h, f0, f1, f2):
    # V <- V h (+ C) + U0 + U1 + U2 unless refractory, then U_b <- U_b f_b; returns True
    # if any V is non-finite. One pass: the numpy path's V update and its decay of U.
    bad = False
    if has_c:
        for j in range(V.size):
            v = V[j]
            u0 = U0[j]
            u1 = U1[j]
            u2 = U2[j]
            vn = v * h
            vn = vn + C[j]
            vn = vn + u0
            vn = vn + u1
            vn = vn + u2
            if ref_until[j] > n:
                vn = v
            bad |= not (abs(vn) < math.inf)
            V[j] = vn
            U0[j] = u0 * f0
            U1[j] = u1 * f1
            U2[j] = u2 * f2
    else:
        for j in range(V.size):
            v = V[j]
            u0 = U0[j]
            u1 = U1[j]
            u2 = U2[j]
            vn = v * h
            vn = vn + u0
            vn = vn + u1
            vn = vn + u2
            if ref_until[j] > n:
                vn = v
            bad |= not (abs(vn) < math.inf)
            V[j] = vn
            U0[j] = u0 * f0
            U1[j] = u1 * f1
            U2[j] = u2 * f2
    return bad


@numba.njit(cache=True)
def _membrane_eif(n, V, U0, U1, U2, ref_until, C, has_c, h, kk, vt, idt, xm, vlb, f0, f1, f2):
    bad = False
    for j in range(V.size):
        v = V[j]
        u0 = U0[j]
        u1 = U1[j]
        u2 = U2[j]
        x = (v - vt) * idt
        if x > xm:
            x = xm
        vn = v * h
        if has_c:
            vn = vn + C[j]
        vn = vn + math.exp(x) * kk
        vn = vn + u0
        vn = vn + u1
        vn = vn + u2
        if vn < vlb:
            vn = vlb
        if ref_until[j] > n:
            vn = v
        bad |= not (abs(vn) < math.inf)
        V[j] = vn
        U0[j] = u0 * f0
        U1[j] = u1 * f1
        U2[j] = u2 * f2
    return bad


@numba.njit(cache=True)
def run_steps(i0, L, n_base, N_E, V, U, ref_until,
              H, Vth, Vres, R, eif, K, VT, invDT, xmax, Vlb, C, has_c, F, W,
              pre_indptr, pre_indices, ext_network, ext_ptr, ext_idx, x_indptr, x_indices,
              ext_total, count_ext, rec_ids, rec_every, trace_V, trace_U,
              spk_ids, spk_steps, n_spk):
    """Advance the network over local steps ``i0 .. L-1`` of a chunk (global ``n_base + i``).

    State arrays (``V``, ``U`` (3, N), ``ref_until``) are updated in place and equal the
    numpy path's state after every step.

    Returns ``(status, i, n_spk, neuron)``: status 0 = done (i == L), 1 = spike buffer
    nearly full (resume at local step i), 2 = non-finite membrane potential of ``neuron``
    produced by local step i.
    """
    N = V.size
    cap = spk_ids.size
    n_rec = rec_ids.size
    U0 = U[0]
    U1 = U[1]
    U2 = U[2]
    wE0 = W[0, 0]
    wI0 = W[1, 0]
    wE1 = W[0, 1]
    wI1 = W[1, 1]
    wE2 = W[0, 2]
    wI2 = W[1, 2]
    for i in range(i0, L):
        n = n_base + i
        if n_spk + N > cap:
            return BUFFER_FULL, i, n_spk, -1
        if n_rec > 0 and n % rec_every == 0:
            k = n // rec_every
            for r in range(n_rec):
                j = rec_ids[r]
                trace_V[r, k] = V[j]
                for b in range(3):
                    trace_U[r, b, k] = U[b, j]
        # 1. membrane (refractory neurons keep their reset value) and decay of the currents
        bad = False
        for p in range(2):
            lo = 0 if p == 0 else N_E
            hi = N_E if p == 0 else N
            if eif:
                bad |= _membrane_eif(n, V[lo:hi], U0[lo:hi], U1[lo:hi], U2[lo:hi],
                                     ref_until[lo:hi], C[lo:hi], has_c, H[p], K[p], VT[p],
                                     invDT[p], xmax[p], Vlb[p], F[0], F[1], F[2])
            else:
                bad |= _membrane_lif(n, V[lo:hi], U0[lo:hi], U1[lo:hi], U2[lo:hi],
                                     ref_until[lo:hi], C[lo:hi], has_c, H[p], F[0], F[1], F[2])
        if bad:
            for j in range(N):
                if not (abs(V[j]) < math.inf):
                    return NONFINITE, i, n_spk, j
        # 2. threshold and reset
        s0 = n_spk
        for p in range(2):
            lo = 0 if p == 0 else N_E
            hi = N_E if p == 0 else N
            vth = Vth[p]
            Vp = V[lo:hi]
            for jj in range(Vp.size):
                if Vp[jj] >= vth:
                    j = lo + jj
                    V[j] = Vres[p]
                    ref_until[j] = n + 1 + R[p]
                    spk_ids[n_spk] = j
                    spk_steps[n_spk] = n
                    n_spk += 1
        # 3. kicks, one addition per synapse in the order of the numpy path: spikes in
        # ascending neuron order, each row in stored order, then the external events
        for s in range(s0, n_spk):
            k = spk_ids[s]
            if k < N_E:
                for e in range(pre_indptr[k], pre_indptr[k + 1]):
                    t = pre_indices[e]
                    U0[t] += wE0 if t < N_E else wI0
            else:
                for e in range(pre_indptr[k], pre_indptr[k + 1]):
                    t = pre_indices[e]
                    U1[t] += wE1 if t < N_E else wI1
        if ext_network:
            for e in range(ext_ptr[i], ext_ptr[i + 1]):
                x_src = ext_idx[e]
                if count_ext:
                    ext_total[x_src] += 1
                for q in range(x_indptr[x_src], x_indptr[x_src + 1]):
                    t = x_indices[q]
                    U2[t] += wE2 if t < N_E else wI2
        else:
            for e in range(ext_ptr[i], ext_ptr[i + 1]):
                t = ext_idx[e]
                U2[t] += wE2 if t < N_E else wI2
            if count_ext:
                for e in range(ext_ptr[i], ext_ptr[i + 1]):
                    ext_total[ext_idx[e]] += 1
    return OK, L, n_spk, -1
