namespace UniCLift.Compute.Losses;

using System.Globalization;
using TorchSharp;
using UniCLift.Compute.Cuda;
using static TorchSharp.torch;

/// <summary>
/// <see cref="RenderLoss.Ssim"/> on CUDA in two kernels (Losses/Cuda/ssim.cu): the forward computes the SSIM map and
/// the three derivatives the backward needs, the backward is one windowed sum; the mean is one torch operation. The
/// conv2d chain it replaces issues about 40 operations and as many autograd nodes per step. The gradient reaches the
/// rendered image only (the target is data). Used by <see cref="RenderLoss"/> once its self-check
/// (<see cref="SelfCheck"/>, through <see cref="FusedKernels"/>) has agreed with the conv2d chain on the device.
/// </summary>
public static class FusedSsim
{
    public const string Source = "ssim.cu";
    private const int Tile = 16;

    /// <summary>The module's defines: the 1-D window taps (<see cref="RenderLoss.Gaussian1D"/>) as float literals.</summary>
    public static Dictionary<string, string> Defines() => new()
    {
        ["GAUSS"] = string.Join(",", RenderLoss.Gaussian1D().Select(g => ((float)g).ToString("R", CultureInfo.InvariantCulture) + "f")),
    };

    /// <summary>Mean SSIM of <paramref name="rendered"/> and <paramref name="target"/>, both [H,W,C] float32 on one CUDA
    /// device; differentiable in <paramref name="rendered"/>.</summary>
    public static Tensor Ssim(Tensor rendered, Tensor target)
    {
        if (!KernelHost.Runs(rendered.device) || !KernelHost.SameDevice(rendered, target)
            || rendered.dtype != ScalarType.Float32 || target.dtype != ScalarType.Float32)
            throw new ArgumentException($"FusedSsim needs float32 images on one CUDA device; got {rendered.dtype} on {rendered.device} and {target.dtype} on {target.device}.");
        if (rendered.dim() != 3 || !rendered.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"FusedSsim expects two images [H,W,C] of one shape; got {RenderLoss.Shape(rendered)} and {RenderLoss.Shape(target)}.");
        HandedOver.Release();
        var call = new Call { HandedOver = HandedOver };
        return SsimFunction.apply(call, rendered.contiguous(), target.contiguous())[0];
    }

    /// <summary>The fused SSIM against the conv2d chain on this device: 2 random image pairs (83x61 and 130x97, 3
    /// channels; one pair near each other, as in training), value and gradient by the rendered image to 1e-4 relative.
    /// Null when they agree, else what differs.</summary>
    public static string? SelfCheck(Device dev)
    {
        using var scope = NewDisposeScope();
        using var gradMode = torch.enable_grad(); // the first use may come from code running under no_grad
        var gen = new Generator(17);
        foreach (var (w, h, near) in new[] { (83, 61, false), (130, 97, true) })
        {
            var target = torch.rand(new long[] { h, w, 3 }, generator: gen);
            var rendered = near ? target.add(torch.randn(new long[] { h, w, 3 }, generator: gen).mul(Scalars.Of(0.05)), Scalars.One).clamp(Scalars.Of(0.0), Scalars.One)
                : torch.rand(new long[] { h, w, 3 }, generator: gen);
            var t = target.to(dev);
            if (FusedKernels.Disagreement("SSIM", rendered, dev, x => RenderLoss.Ssim(x, t, fused: false), x => Ssim(x, t), 1e-4) is { } why)
                return $"{w}x{h}: {why}";
        }
        return null;
    }

    /// <summary>Whether <see cref="RenderLoss"/> uses the fused SSIM for these images.</summary>
    internal static bool Applies(Tensor rendered, Tensor target) =>
        KernelHost.Runs(rendered.device) && KernelHost.SameDevice(rendered, target) && rendered.dtype == ScalarType.Float32
        && target.dtype == ScalarType.Float32 && FusedKernels.Use(FusedKernels.Ssim, rendered.device, SelfCheck);

    /// <summary>Gradients the backward handed to autograd, released at this thread's next fused SSIM.</summary>
    [ThreadStatic] private static HandedOverGradients? _handedOver;
    private static HandedOverGradients HandedOver => _handedOver ??= new HandedOverGradients();

    /// <summary>Releases the gradients this thread's last backward handed over (a trainer that is done calls it).</summary>
    internal static void ReleaseThread() => _handedOver?.Release();

    private sealed class Call
    {
        public required HandedOverGradients HandedOver;
        public Tensor X = null!, Y = null!, DMu = null!, DXx = null!, DXy = null!;
        public int Width, Height, Channels;
    }

    private static int TilesY(int h) => (h + Tile - 1) / Tile;

    private sealed class SsimFunction : torch.autograd.MultiTensorFunction<SsimFunction>
    {
        public override string Name => "FusedSsim";

        public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var c = (Call)vars[0];
            var x = (Tensor)vars[1]; var y = (Tensor)vars[2];
            var module = KernelHost.Module(x.device, Source, Defines());
            c.Height = (int)x.shape[0]; c.Width = (int)x.shape[1]; c.Channels = (int)x.shape[2];
            var map = torch.empty_like(x);
            c.DMu = torch.empty_like(x); c.DXx = torch.empty_like(x); c.DXy = torch.empty_like(x);
            c.X = x; c.Y = y;
            Launch(module, "ssim_forward", c, KernelArgs.ForThread().Add(c.Width).Add(c.Height).Add(c.Channels).Add(TilesY(c.Height)).Ptr(x).Ptr(y).Ptr(map)
                .Ptr(c.DMu).Ptr(c.DXx).Ptr(c.DXy));
            ctx.save_data("call", c);
            return [map.mean()];
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            var c = (Call)ctx.get_data("call");
            // On CUDA the autograd engine calls this on its device thread, where none of the caller's dispose scopes is
            // active: this one holds the temporaries, and the gradient handed back is released by the caller's thread.
            using var scope = torch.NewDisposeScope();
            var module = KernelHost.Module(c.X.device, Source, Defines());
            var g = grads[0].reshape(1).contiguous(); // d loss / d mean SSIM, read on the device
            var dx = torch.empty_like(c.X);
            Launch(module, "ssim_backward", c, KernelArgs.ForThread().Add(c.Width).Add(c.Height).Add(c.Channels).Add(TilesY(c.Height)).Ptr(c.X).Ptr(c.Y)
                .Ptr(c.DMu).Ptr(c.DXx).Ptr(c.DXy).Ptr(g).Ptr(dx));
            c.HandedOver.Add(scope, [dx]);
            foreach (var gr in grads) gr?.Dispose();
            return [null!, dx, null!]; // one entry per argument of apply, the Call included (as the rasteriser's)
        }

        private static void Launch(IKernelModule module, string kernel, Call c, KernelArgs args)
        {
            // Grid: tiles across, (tiles down) x channels; one block of 256 threads per 16x16 tile of one channel.
            module.Launch(kernel, ((uint)((c.Width + Tile - 1) / Tile), (uint)(TilesY(c.Height) * c.Channels)), Tile * Tile, 0, args);
        }
    }
}
