/* A numeric micro-benchmark in C for the Debian suite: n-body (sqrt, division, fused multiply-adds as
 * GCC contracts them), a Mandelbrot set, a Horner polynomial in single precision, and float/integer
 * conversions. Results are printed as exact bits, so wisp and QEMU must agree to the last bit. */
#include "rt.h"

#define N 5
static double px[N], py[N], pz[N], vx[N], vy[N], vz[N], m[N];

static double sqrt_d(double x) { double r; asm("fsqrt.d %0, %1" : "=f"(r) : "f"(x)); return r; }

static void nbody(int steps) {
  const double init[N][7] = {
    { 0, 0, 0, 0, 0, 0, 39.47841760435743 },
    { 4.84143144246472090, -1.16032004402742839, -0.103622044471123109, 0.606326392995832, 2.81198684491626, -0.02521836165988763, 0.037693674870389486 },
    { 8.34336671824457987, 4.12479856412430479, -0.403523417114321381, -1.0107743461787924, 1.8256623712304119, 0.008415761376584154, 0.011286326131968767 },
    { 12.894369562139131, -15.111151401698631, -0.22330757889265573, 1.0827910064415354, 0.8687130181696082, -0.010832637401363636, 0.0017237240570597112 },
    { 15.379697114850917, -25.919314609987964, 0.17925877295037118, 0.979090732243898, 0.5946989986476762, -0.034755955504078104, 0.0020336868699246304 },
  };
  for (int i = 0; i < N; i++) { px[i] = init[i][0]; py[i] = init[i][1]; pz[i] = init[i][2]; vx[i] = init[i][3] * 365.24; vy[i] = init[i][4] * 365.24; vz[i] = init[i][5] * 365.24; m[i] = init[i][6]; }
  const double dt = 0.01;
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < N; i++) {
      for (int j = i + 1; j < N; j++) {
        double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * sqrt_d(d2));
        vx[i] -= dx * m[j] * mag; vy[i] -= dy * m[j] * mag; vz[i] -= dz * m[j] * mag;
        vx[j] += dx * m[i] * mag; vy[j] += dy * m[i] * mag; vz[j] += dz * m[i] * mag;
      }
    }
    for (int i = 0; i < N; i++) { px[i] += dt * vx[i]; py[i] += dt * vy[i]; pz[i] += dt * vz[i]; }
  }
  double e = 0;
  for (int i = 0; i < N; i++) e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
  line("nbody-energy", bits(e), 1);
  line("nbody-x0", bits(px[1]), 1);
}

static void mandel(int w, int h, int it) {
  u64 total = 0;
  double acc = 0;
  for (int y = 0; y < h; y++) {
    double ci = -1.2 + 2.4 * y / h;
    for (int x = 0; x < w; x++) {
      double cr = -2.0 + 3.0 * x / w, zr = 0, zi = 0;
      int n = 0;
      while (n < it && zr * zr + zi * zi < 4.0) { double t = zr * zr - zi * zi + cr; zi = 2.0 * zr * zi + ci; zr = t; n++; }
      total += (u64)n;
      acc += zr * 0.5 - zi;
    }
  }
  line("mandel-iterations", total, 0);
  line("mandel-acc", bits(acc), 1);
}

static void horner32(int n) {
  float s = 0;
  for (int i = 0; i < n; i++) {
    float x = (float)(i % 1000) / 997.0f - 0.5f;
    float p = ((((0.0083f * x - 0.0416f) * x + 0.1666f) * x - 0.5f) * x + 1.0f) * x;
    s += p;
  }
  line("horner32", bits32(s), 1);
}

static void convert(int n) {
  i64 si = 0;
  double d = 0.1;
  for (int i = 0; i < n; i++) {
    d = d * 1.0001 + 0.37;
    if (d > 1e6) d -= 999999.5;
    si += (i64)d + (i64)(d * -3.0) + (long)(float)d;
  }
  line("convert", (u64)si, 0);
}

void _start(void) {
  nbody(40000);
  mandel(160, 120, 200);
  horner32(400000);
  convert(400000);
  finish();
}
