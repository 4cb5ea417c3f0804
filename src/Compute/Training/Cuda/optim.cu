// Fused optimiser kernels for parameters on a CUDA device (GaussianAdam.cs): one launch per parameter tensor instead of
// the eight TorchSharp operations (and their host cost) of the unfused update. Arithmetic in float32, in the order of
// the unfused torch update: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).

// One thread per element; g is zeroed after use when zeroGrad is set (the optimiser's ZeroGrad, fused).
extern "C" __global__ void __launch_bounds__(256) adam_step(const long long n, float* __restrict__ p, float* __restrict__ g,
    float* __restrict__ m, float* __restrict__ v, const float beta1, const float oneMinusBeta1, const float beta2,
    const float oneMinusBeta2, const float sqrtBc2, const float eps, const float step, const int zeroGrad)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float gi = g[i];
    const float mi = m[i] * beta1 + oneMinusBeta1 * gi;
    const float vi = v[i] * beta2 + oneMinusBeta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] + step * (mi / (sqrtf(vi) / sqrtBc2 + eps));
    if (zeroGrad) g[i] = 0.f;
}
