/**
 * Packs a kc × w block of an operand into panels of `nr` along its non-k dimension: panel q is
 * [kc][nr] at out + q·kc·nr floats; lanes past w are zero-filled. Element (i, p) — i along the
 * panel dimension from i0, p along k from p0 — is read at src + (p·ld + i)·4 when `kContiguous` is
 * false (i contiguous) and at src + (i·ld + p)·4 when it is true (p contiguous).
 *   B [k, n]: kContiguous false, ld n.   B stored [n, k] (transposeB): true, ld k.
 *   A [m, k]: kContiguous true, ld k.    A stored [k, m] (transposeA): false, ld m.
 */
export function pack(src: usize, ld: i32, kContiguous: bool, i0: i32, p0: i32, w: i32, kc: i32, nr: i32, out: usize): void {
  const step = <usize>nr * 4;
  for (let q0 = 0; q0 < w; q0 += nr) {
    const width = min(nr, w - q0);
    const panel = out + <usize>(q0 * kc) * 4;
    if (!kContiguous) {
      let s = src + (<usize>p0 * <usize>ld + <usize>(i0 + q0)) * 4;
      let d = panel;
      const rowBytes = <usize>ld * 4;
      if (width == nr && (nr & 3) == 0) {
        for (let p = 0; p < kc; p++) {
          for (let v = 0; v < nr; v += 4) v128.store(d + (<usize>v << 2), v128.load(s + (<usize>v << 2)));
          s += rowBytes;
          d += step;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          let j = 0;
          for (; j < width; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
          for (; j < nr; j++) store<f32>(d + (<usize>j << 2), 0);
          s += rowBytes;
          d += step;
        }
      }
      continue;
    }
    // k contiguous: four panel lanes at a time through 4×4 transposes.
    const lineBytes = <usize>ld * 4;
    let j = 0;
    for (; j + 4 <= width; j += 4) {
      const s0 = src + (<usize>(i0 + q0 + j) * <usize>ld + <usize>p0) * 4;
      const s1 = s0 + lineBytes;
      const s2 = s1 + lineBytes;
      const s3 = s2 + lineBytes;
      let d = panel + (<usize>j << 2);
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const off = <usize>p << 2;
        const r0 = v128.load(s0 + off);
        const r1 = v128.load(s1 + off);
        const r2 = v128.load(s2 + off);
        const r3 = v128.load(s3 + off);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(d + step, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
        v128.store(d + 2 * step, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
        v128.store(d + 3 * step, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
        d += 4 * step;
      }
      for (; p < kc; p++) {
        const off = <usize>p << 2;
        store<f32>(d, load<f32>(s0 + off));
        store<f32>(d, load<f32>(s1 + off), 4);
        store<f32>(d, load<f32>(s2 + off), 8);
        store<f32>(d, load<f32>(s3 + off), 12);
        d += step;
      }
    }
    for (; j < nr; j++) {
      let d = panel + (<usize>j << 2);
      if (j < width) {
        let s = src + (<usize>(i0 + q0 + j) * <usize>ld + <usize>p0) * 4;
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(s));
          s += 4;
          d += step;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f32>(d, 0);
          d += step;
        }
      }
    }
  }
}

/**
 * Packs rows i0..i0+mr of op(A), steps p0..p0+kc, times `scale`, with each element splatted to four
 * lanes: out[(p·MR + r)·4 + lane] = scale·A(i0 + r, p0 + p); rows r ≥ mr are zero. Addressing as in `pack`.
 */
export function packSplat(src: usize, ld: i32, kContiguous: bool, i0: i32, p0: i32, mr: i32, kc: i32, MR: i32, scale: f32, out: usize): void {
  if (scale != 1) {
    packSplatScaled(src, ld, kContiguous, i0, p0, mr, kc, MR, scale, out);
    return;
  }
  const step = <usize>MR * 16;
  for (let r = 0; r < MR; r++) {
    let d = out + (<usize>r << 4);
    if (r >= mr) {
      for (let p = 0; p < kc; p++) {
        v128.store(d, f32x4.splat(0));
        d += step;
      }
      continue;
    }
    if (kContiguous) {
      let s = src + (<usize>(i0 + r) * <usize>ld + <usize>p0) * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(d, v128.load32_splat(s));
        s += 4;
        d += step;
      }
    } else {
      let s = src + (<usize>p0 * <usize>ld + <usize>(i0 + r)) * 4;
      const line = <usize>ld * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(d, v128.load32_splat(s));
        s += line;
        d += step;
      }
    }
  }
}

function packSplatScaled(src: usize, ld: i32, kContiguous: bool, i0: i32, p0: i32, mr: i32, kc: i32, MR: i32, scale: f32, out: usize): void {
  const step = <usize>MR * 16;
  const scaleV = f32x4.splat(scale);
  for (let r = 0; r < MR; r++) {
    let d = out + (<usize>r << 4);
    if (r >= mr) {
      for (let p = 0; p < kc; p++) {
        v128.store(d, f32x4.splat(0));
        d += step;
      }
      continue;
    }
    if (kContiguous) {
      let s = src + (<usize>(i0 + r) * <usize>ld + <usize>p0) * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(d, f32x4.mul(v128.load32_splat(s), scaleV));
        s += 4;
        d += step;
      }
    } else {
      let s = src + (<usize>p0 * <usize>ld + <usize>(i0 + r)) * 4;
      const line = <usize>ld * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(d, f32x4.mul(v128.load32_splat(s), scaleV));
        s += line;
        d += step;
      }
    }
  }
}
