namespace UniCLift.Compute.Losses;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// The 3DGS photometric loss: 0.8 * L1 + 0.2 * (1 - SSIM) on RGB images [H,W,3].
/// SSIM follows graphdeco's <c>ssim</c>: 11x11 Gaussian window (sigma 1.5), depthwise conv2d
/// (groups = channels) with zero padding of 5, C1 = 0.01^2, C2 = 0.03^2, mean over the whole map. On CUDA the SSIM runs
/// as two fused kernels (<see cref="FusedSsim"/>) once they have agreed with the conv2d chain on the device, on the CPU
/// as their C# counterpart (<see cref="CpuSsim"/>).
/// </summary>
public static class RenderLoss
{
    public const double L1Weight = 0.8;
    public const double SsimWeight = 0.2;
    public const int WindowSize = 11;
    public const double WindowSigma = 1.5;
    private const double C1 = 0.01 * 0.01;
    private const double C2 = 0.03 * 0.03;

    /// <summary>0.8 * L1 + 0.2 * (1 - SSIM). Both images [H,W,C] float in [0,1]; returns a scalar.</summary>
    public static Tensor Compute(Tensor rendered, Tensor target)
    {
        CheckPair(rendered, target);
        using var l1 = L1(rendered, target);
        using var ssim = Ssim(rendered, target);
        // 0.8 * l1 + 0.2 * (1 - ssim)
        return l1.mul(Scalars.Of(L1Weight)).add(ssim.neg().add(Scalars.One, Scalars.One), Scalars.Of(SsimWeight));
    }

    /// <summary>Mean absolute error over all elements. [H,W,C] x [H,W,C] -> scalar.</summary>
    public static Tensor L1(Tensor rendered, Tensor target)
    {
        CheckPair(rendered, target);
        using var d = rendered.sub(target);
        using var a = d.abs();
        return a.mean();
    }

    /// <summary>Mean SSIM of two images [H,W,C] (graphdeco's ssim, size_average = true); returns a scalar.</summary>
    /// <remarks>
    /// The 11x11 window is the outer product of a 1-D Gaussian and the padding is zero, so filtering with an
    /// 11x1 then a 1x11 kernel is exactly graphdeco's 2-D conv at 22 instead of 121 taps per pixel; the five
    /// filtered maps (x, y, x^2, y^2, xy) go through one grouped conv call each way.
    /// </remarks>
    /// <param name="fused">On CUDA: null (default) uses <see cref="FusedSsim"/> once its self-check has agreed on the
    /// device, false always the conv2d chain, true always the fused kernels. On the CPU: null or true
    /// <see cref="CpuSsim"/> for float32 images (unless <c>UNICLIFT_FUSED_SSIM=0</c>), false the conv2d chain.</param>
    public static Tensor Ssim(Tensor rendered, Tensor target, bool? fused = null)
    {
        CheckPair(rendered, target);
        if (Cuda.KernelHost.Runs(rendered.device))
        {
            if (fused != false && (fused == true || FusedSsim.Applies(rendered, target)))
                return FusedSsim.Ssim(rendered, target);
        }
        else if (fused != false && CpuSsim.Applies(rendered, target))
            return CpuSsim.Ssim(rendered, target);
        using var scope = NewDisposeScope();
        long c = rendered.shape[2];
        var img1 = rendered.permute(2, 0, 1).unsqueeze(0); // [1,C,H,W]
        var img2 = target.permute(2, 0, 1).unsqueeze(0);   // [1,C,H,W]
        var stacked = torch.cat(new[] { img1, img2, img1 * img1, img2 * img2, img1 * img2 }, 1); // [1,5C,H,W]
        var (vertical, horizontal) = Windows(5 * c, rendered.dtype, rendered.device); // [5C,1,11,1], [5C,1,1,11]
        var filtered = nn.functional.conv2d(stacked, vertical, padding: new long[] { WindowSize / 2, 0 }, groups: 5 * c);
        filtered = nn.functional.conv2d(filtered, horizontal, padding: new long[] { 0, WindowSize / 2 }, groups: 5 * c); // [1,5C,H,W]
        var parts = filtered.split(c, 1);
        Tensor mu1 = parts[0], mu2 = parts[1];
        var mu1Sq = mu1 * mu1;
        var mu2Sq = mu2 * mu2;
        var mu12 = mu1 * mu2;
        var sigma1Sq = parts[2].sub(mu1Sq);
        var sigma2Sq = parts[3].sub(mu2Sq);
        var sigma12 = parts[4].sub(mu12);
        var num = mu12.mul(Scalars.Of(2.0)).add(Scalars.Of(C1), Scalars.One) * sigma12.mul(Scalars.Of(2.0)).add(Scalars.Of(C2), Scalars.One);
        var den = mu1Sq.add(mu2Sq, Scalars.One).add(Scalars.Of(C1), Scalars.One) * sigma1Sq.add(sigma2Sq, Scalars.One).add(Scalars.Of(C2), Scalars.One);
        return (num / den).mean().MoveToOuterDisposeScope();
    }

    /// <summary>The normalised 1-D Gaussian of graphdeco's create_window (length 11, sigma 1.5).</summary>
    public static double[] Gaussian1D()
    {
        var g = new double[WindowSize];
        double sum = 0;
        for (int x = 0; x < WindowSize; x++)
        {
            g[x] = Math.Exp(-Math.Pow(x - WindowSize / 2, 2) / (2 * WindowSigma * WindowSigma));
            sum += g[x];
        }
        for (int x = 0; x < WindowSize; x++) g[x] /= sum;
        return g;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(long, ScalarType, string), (Tensor, Tensor)> WindowCache = new();

    /// <summary>The separable SSIM windows, made once per (channels, dtype, device) and kept for the process (on a GPU a
    /// fresh pair was two blocking uploads every step). Constant tensors: never written, never disposed.</summary>
    private static (Tensor Vertical, Tensor Horizontal) Windows(long channels, ScalarType dtype, Device device) =>
        WindowCache.GetOrAdd((channels, dtype, device.ToString()), _ =>
        {
            var g = Gaussian1D().Select(v => (float)v).ToArray();
            using var column = torch.tensor(g, new long[] { 1, 1, WindowSize, 1 });
            using var row = torch.tensor(g, new long[] { 1, 1, 1, WindowSize });
            return (column.expand(channels, 1, WindowSize, 1).contiguous().to(dtype, device).DetachFromDisposeScope(),
                    row.expand(channels, 1, 1, WindowSize).contiguous().to(dtype, device).DetachFromDisposeScope());
        });

    private static void CheckPair(Tensor rendered, Tensor target)
    {
        if (rendered.dim() != 3 || target.dim() != 3)
            throw new ArgumentException($"RenderLoss expects images [H,W,C]; got rendered {Shape(rendered)} and target {Shape(target)}.");
        if (!rendered.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"RenderLoss: rendered {Shape(rendered)} and target {Shape(target)} differ in shape.");
    }

    internal static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";
}
