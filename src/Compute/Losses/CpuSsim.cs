namespace UniCLift.Compute.Losses;

using System.Buffers;
using System.Numerics;
using TorchSharp;
using UniCLift.Compute.Rendering;
using static TorchSharp.torch;

/// <summary>
/// <see cref="RenderLoss.Ssim"/> on the CPU in two C# passes, the math of the fused CUDA SSIM (Losses/Cuda/ssim.cu):
/// the forward computes the mean SSIM and the three derivative maps the backward needs, the backward is their windowed
/// sum. The 11x11 window is applied as an 11-tap pass along each row (stride C in the interleaved [H,W,C] image) and an
/// 11-tap pass down the columns, vectorised, in bands of rows on the thread pool (each band sums its rows in order and
/// the bands' sums are added in order, so a result does not depend on the threads). The conv2d chain it replaces keeps
/// about 40 full-size tensors for autograd: at 640x480 it took 60 ms of a 186 ms training step on this machine's 2 cores
/// and about 500 bytes a pixel of memory; this keeps three maps (36 bytes a pixel) between forward and backward. The
/// gradient reaches the rendered image only (the target is data).
/// </summary>
public static class CpuSsim
{
    private const int Half = RenderLoss.WindowSize / 2, Band = 64;
    private const float C1 = 0.01f * 0.01f, C2 = 0.03f * 0.03f;
    private static readonly float[] Taps = RenderLoss.Gaussian1D().Select(v => (float)v).ToArray();

    /// <summary>Mean SSIM of <paramref name="rendered"/> and <paramref name="target"/>, both [H,W,C] float32 on the CPU;
    /// differentiable in <paramref name="rendered"/>.</summary>
    public static Tensor Ssim(Tensor rendered, Tensor target)
    {
        if (rendered.device_type != DeviceType.CPU || target.device_type != DeviceType.CPU
            || rendered.dtype != ScalarType.Float32 || target.dtype != ScalarType.Float32)
            throw new ArgumentException($"CpuSsim needs float32 images on the CPU; got {rendered.dtype} on {rendered.device} and {target.dtype} on {target.device}.");
        if (rendered.dim() != 3 || !rendered.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"CpuSsim expects two images [H,W,C] of one shape; got {RenderLoss.Shape(rendered)} and {RenderLoss.Shape(target)}.");
        return SsimFunction.apply(new Call(), rendered.contiguous(), target.contiguous())[0];
    }

    /// <summary>Whether <see cref="RenderLoss"/> uses this for these images: float32 on the CPU, unless
    /// <c>UNICLIFT_FUSED_SSIM=0</c> or <c>UNICLIFT_FUSED=0</c>.</summary>
    internal static bool Applies(Tensor rendered, Tensor target) =>
        rendered.device_type == DeviceType.CPU && target.device_type == DeviceType.CPU && rendered.dtype == ScalarType.Float32
        && target.dtype == ScalarType.Float32 && Cuda.FusedKernels.Setting(Cuda.FusedKernels.Ssim) != false;

    private sealed class Call
    {
        public Tensor X = null!, Y = null!, DMu = null!, DXx = null!, DXy = null!;
        public int Width, Height, Channels;
    }

    private sealed class SsimFunction : torch.autograd.MultiTensorFunction<SsimFunction>
    {
        public override string Name => "CpuSsim";

        public override unsafe List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var c = (Call)vars[0];
            c.X = (Tensor)vars[1]; c.Y = (Tensor)vars[2];
            c.Height = (int)c.X.shape[0]; c.Width = (int)c.X.shape[1]; c.Channels = (int)c.X.shape[2];
            c.DMu = torch.empty_like(c.X); c.DXx = torch.empty_like(c.X); c.DXy = torch.empty_like(c.X);
            var rows = new Rows(c);
            float* x = GaussianRasterizer.Ptr(c.X), y = GaussianRasterizer.Ptr(c.Y);
            float* dMu = GaussianRasterizer.Ptr(c.DMu), dXx = GaussianRasterizer.Ptr(c.DXx), dXy = GaussianRasterizer.Ptr(c.DXy);
            var sums = new double[rows.Bands];
            Parallel.For(0, rows.Bands, b => sums[b] = Forward(rows, b, x, y, dMu, dXx, dXy));
            double total = 0;
            foreach (var s in sums) total += s; // in band order: the same sum whatever the threads did
            ctx.save_data("call", c);
            return [torch.tensor((float)(total / ((double)rows.Length * c.Height)))];
        }

        public override unsafe List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            var c = (Call)ctx.get_data("call");
            float g = grads[0].item<float>(); // d loss / d mean SSIM, a CPU scalar
            foreach (var gr in grads) gr?.Dispose();
            var dx = torch.empty_like(c.X);
            var rows = new Rows(c);
            float scale = g / ((float)c.Width * (float)c.Height * (float)c.Channels); // as ssim.cu
            float* x = GaussianRasterizer.Ptr(c.X), y = GaussianRasterizer.Ptr(c.Y), o = GaussianRasterizer.Ptr(dx);
            float* dMu = GaussianRasterizer.Ptr(c.DMu), dXx = GaussianRasterizer.Ptr(c.DXx), dXy = GaussianRasterizer.Ptr(c.DXy);
            Parallel.For(0, rows.Bands, b => Backward(rows, b, scale, x, y, dMu, dXx, dXy, o));
            return [null!, dx, null!]; // one entry per argument of apply, the Call included
        }
    }

    /// <summary>An image as rows of <see cref="Length"/> floats (W x C, interleaved) cut into bands of output rows.</summary>
    private readonly struct Rows(Call c)
    {
        public readonly int Height = c.Height, Length = c.Width * c.Channels, Stride = c.Channels;
        public int Bands => (Height + Band - 1) / Band;
        public (int First, int End) Output(int band) => (band * Band, Math.Min(Height, (band + 1) * Band));
        /// <summary>The input rows a band's window reaches (its output rows and the window's half above and below).</summary>
        public (int First, int End) Input(int band)
        {
            var (first, end) = Output(band);
            return (Math.Max(0, first - Half), Math.Min(Height, end + Half));
        }
    }

    /// <summary>One band of the forward: the five row-filtered maps of the band's input rows, then per output pixel the
    /// column filter, the SSIM and its three derivatives. Returns the band's sum of SSIM.</summary>
    private static unsafe double Forward(Rows r, int band, float* x, float* y, float* dMu, float* dXx, float* dXy)
    {
        var (in0, in1) = r.Input(band);
        int n = r.Length, count = in1 - in0;
        var buffer = ArrayPool<float>.Shared.Rent(5 * count * n);
        try
        {
            fixed (float* t = buffer)
            {
                float* t1 = t, t2 = t + count * n, txx = t + 2 * count * n, tyy = t + 3 * count * n, txy = t + 4 * count * n;
                for (int row = in0; row < in1; row++)
                {
                    long o = (long)(row - in0) * n;
                    RowFilter5(x + (long)row * n, y + (long)row * n, n, r.Stride, t1 + o, t2 + o, txx + o, tyy + o, txy + o);
                }
                var (out0, out1) = r.Output(band);
                double sum = 0;
                for (int row = out0; row < out1; row++)
                {
                    int k0 = Math.Max(0, Half - row), k1 = Math.Min(2 * Half, r.Height - 1 - row + Half); // taps inside the image
                    long src = (long)(row - Half - in0) * n, dst = (long)row * n;
                    sum += ColumnSsim(t1 + src, t2 + src, txx + src, tyy + src, txy + src, n, k0, k1, dMu + dst, dXx + dst, dXy + dst);
                }
                return sum;
            }
        }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }

    /// <summary>One band of the backward: the three derivative maps filtered along rows, then down the columns (the
    /// window is symmetric, so the sum over the pixels whose windows cover q is the same stencil), and
    /// dx = scale (window * dMu + 2 x window * dXx + y window * dXy).</summary>
    private static unsafe void Backward(Rows r, int band, float scale, float* x, float* y, float* dMu, float* dXx, float* dXy, float* dx)
    {
        var (in0, in1) = r.Input(band);
        int n = r.Length, count = in1 - in0;
        var buffer = ArrayPool<float>.Shared.Rent(3 * count * n);
        try
        {
            fixed (float* t = buffer)
            {
                float* tm = t, txx = t + count * n, txy = t + 2 * count * n;
                for (int row = in0; row < in1; row++)
                {
                    long i = (long)row * n, o = (long)(row - in0) * n;
                    RowFilter(dMu + i, n, r.Stride, tm + o);
                    RowFilter(dXx + i, n, r.Stride, txx + o);
                    RowFilter(dXy + i, n, r.Stride, txy + o);
                }
                var (out0, out1) = r.Output(band);
                for (int row = out0; row < out1; row++)
                {
                    int k0 = Math.Max(0, Half - row), k1 = Math.Min(2 * Half, r.Height - 1 - row + Half);
                    long src = (long)(row - Half - in0) * n, at = (long)row * n;
                    ColumnGradient(tm + src, txx + src, txy + src, n, k0, k1, scale, x + at, y + at, dx + at);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }

    /// <summary>out[i] = sum over the taps k inside the row of g[k] v[i + (k - 5) stride], for x, y, x^2, y^2 and xy.</summary>
    private static unsafe void RowFilter5(float* a, float* b, int n, int stride, float* o1, float* o2, float* oxx, float* oyy, float* oxy)
    {
        int vc = Vector<float>.Count, lo = Half * stride, hi = n - Half * stride; // [lo, hi): every tap inside the row
        int i = 0;
        for (; i < Math.Min(lo, n); i++) Scalar5(a, b, n, stride, i, o1, o2, oxx, oyy, oxy);
        for (; i + vc <= hi; i += vc)
        {
            Vector<float> s1 = default, s2 = default, sxx = default, syy = default, sxy = default;
            for (int k = 0; k <= 2 * Half; k++)
            {
                var g = new Vector<float>(Taps[k]);
                int at = i + (k - Half) * stride;
                var va = Vector.Load(a + at);
                var vb = Vector.Load(b + at);
                var ga = g * va; var gb = g * vb;
                s1 += ga; s2 += gb; sxx += ga * va; syy += gb * vb; sxy += ga * vb;
            }
            s1.Store(o1 + i); s2.Store(o2 + i); sxx.Store(oxx + i); syy.Store(oyy + i); sxy.Store(oxy + i);
        }
        for (; i < n; i++) Scalar5(a, b, n, stride, i, o1, o2, oxx, oyy, oxy);
    }

    private static unsafe void Scalar5(float* a, float* b, int n, int stride, int i, float* o1, float* o2, float* oxx, float* oyy, float* oxy)
    {
        float s1 = 0, s2 = 0, sxx = 0, syy = 0, sxy = 0;
        for (int k = 0; k <= 2 * Half; k++)
        {
            int at = i + (k - Half) * stride;
            if (at < 0 || at >= n) continue;
            float g = Taps[k], va = a[at], vb = b[at], ga = g * va, gb = g * vb;
            s1 += ga; s2 += gb; sxx += ga * va; syy += gb * vb; sxy += ga * vb;
        }
        o1[i] = s1; o2[i] = s2; oxx[i] = sxx; oyy[i] = syy; oxy[i] = sxy;
    }

    /// <summary>out[i] = sum over the taps k inside the row of g[k] v[i + (k - 5) stride].</summary>
    private static unsafe void RowFilter(float* v, int n, int stride, float* o)
    {
        int vc = Vector<float>.Count, lo = Half * stride, hi = n - Half * stride;
        int i = 0;
        for (; i < Math.Min(lo, n); i++) o[i] = ScalarTap(v, n, stride, i);
        for (; i + vc <= hi; i += vc)
        {
            Vector<float> s = default;
            for (int k = 0; k <= 2 * Half; k++) s += new Vector<float>(Taps[k]) * Vector.Load(v + i + (k - Half) * stride);
            s.Store(o + i);
        }
        for (; i < n; i++) o[i] = ScalarTap(v, n, stride, i);
    }

    private static unsafe float ScalarTap(float* v, int n, int stride, int i)
    {
        float s = 0;
        for (int k = 0; k <= 2 * Half; k++)
        {
            int at = i + (k - Half) * stride;
            if (at >= 0 && at < n) s += Taps[k] * v[at];
        }
        return s;
    }

    /// <summary>One output row: the column filter of the five row-filtered maps (rows k0..k1 of the window, starting at
    /// the pointers' row 0 = the window's top), SSIM and its derivatives as ssim.cu. Returns the row's sum of SSIM.</summary>
    private static unsafe double ColumnSsim(float* t1, float* t2, float* txx, float* tyy, float* txy, int n, int k0, int k1,
        float* dMu, float* dXx, float* dXy)
    {
        int vc = Vector<float>.Count, i = 0;
        var total = Vector<float>.Zero;
        for (; i + vc <= n; i += vc)
        {
            Vector<float> mu1 = default, mu2 = default, exx = default, eyy = default, exy = default;
            for (int k = k0; k <= k1; k++)
            {
                var g = new Vector<float>(Taps[k]);
                long at = (long)k * n + i;
                mu1 += g * Vector.Load(t1 + at); mu2 += g * Vector.Load(t2 + at);
                exx += g * Vector.Load(txx + at); eyy += g * Vector.Load(tyy + at); exy += g * Vector.Load(txy + at);
            }
            var s1 = exx - mu1 * mu1; var s2 = eyy - mu2 * mu2; var s12 = exy - mu1 * mu2;
            var two = new Vector<float>(2f);
            var n1 = two * mu1 * mu2 + new Vector<float>(C1); var n2 = two * s12 + new Vector<float>(C2);
            var d1 = mu1 * mu1 + mu2 * mu2 + new Vector<float>(C1); var d2 = s1 + s2 + new Vector<float>(C2);
            var inv = Vector<float>.One / (d1 * d2);
            var s = n1 * n2 * inv;
            (two * mu2 * n2 * inv - two * mu1 * s / d1 + two * mu1 * s / d2 - two * mu2 * n1 * inv).Store(dMu + i);
            (-s / d2).Store(dXx + i);
            (two * n1 * inv).Store(dXy + i);
            total += s;
        }
        double sum = Vector.Sum(total);
        for (; i < n; i++)
        {
            float mu1 = 0, mu2 = 0, exx = 0, eyy = 0, exy = 0;
            for (int k = k0; k <= k1; k++)
            {
                float g = Taps[k];
                long at = (long)k * n + i;
                mu1 += g * t1[at]; mu2 += g * t2[at]; exx += g * txx[at]; eyy += g * tyy[at]; exy += g * txy[at];
            }
            float s1 = exx - mu1 * mu1, s2 = eyy - mu2 * mu2, s12 = exy - mu1 * mu2;
            float n1 = 2f * mu1 * mu2 + C1, n2 = 2f * s12 + C2, d1 = mu1 * mu1 + mu2 * mu2 + C1, d2 = s1 + s2 + C2;
            float inv = 1f / (d1 * d2), s = n1 * n2 * inv;
            dMu[i] = 2f * mu2 * n2 * inv - 2f * mu1 * s / d1 + 2f * mu1 * s / d2 - 2f * mu2 * n1 * inv;
            dXx[i] = -s / d2;
            dXy[i] = 2f * n1 * inv;
            sum += s;
        }
        return sum;
    }

    /// <summary>One output row of the backward: the column filter of the three row-filtered derivative maps, then
    /// dx = scale (am + 2 x axx + y axy).</summary>
    private static unsafe void ColumnGradient(float* tm, float* txx, float* txy, int n, int k0, int k1, float scale, float* x, float* y, float* dx)
    {
        int vc = Vector<float>.Count, i = 0;
        var vs = new Vector<float>(scale);
        var two = new Vector<float>(2f);
        for (; i + vc <= n; i += vc)
        {
            Vector<float> am = default, axx = default, axy = default;
            for (int k = k0; k <= k1; k++)
            {
                var g = new Vector<float>(Taps[k]);
                long at = (long)k * n + i;
                am += g * Vector.Load(tm + at); axx += g * Vector.Load(txx + at); axy += g * Vector.Load(txy + at);
            }
            (vs * (am + two * Vector.Load(x + i) * axx + Vector.Load(y + i) * axy)).Store(dx + i);
        }
        for (; i < n; i++)
        {
            float am = 0, axx = 0, axy = 0;
            for (int k = k0; k <= k1; k++)
            {
                float g = Taps[k];
                long at = (long)k * n + i;
                am += g * tm[at]; axx += g * txx[at]; axy += g * txy[at];
            }
            dx[i] = scale * (am + 2f * x[i] * axx + y[i] * axy);
        }
    }
}
