namespace UniCLift.Compute.Rendering;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>Slow, dense, obviously-right rasteriser for tests: every Gaussian at every pixel with TorchSharp ops and
/// autograd, transmittance by cumulative product, the same cutoffs as the fast path (tile rectangle of the 3-sigma
/// radius, power &gt; 0 and alpha &lt; 1/255 skipped, alpha clamped at 0.99, stop before T would drop below 1e-4).
/// Works in the dtype of the parameters (use float64 in tests). Tiny scenes only: memory is N x H x W.</summary>
public static class ReferenceRasterizer
{
    /// <summary>Outputs have the shapes of <see cref="RenderResult"/>. viewspaceRgb / viewspaceFeatures ([N, 2] zero
    /// leaves, optional) are added to the 2D means used by the image / feature blending, so their .grad is the split
    /// view-space gradient.</summary>
    public static (Tensor Rgb, Tensor? Features, Tensor Depth, Tensor Alpha, int[] Radii) Render(
        GaussianTensors g, Camera camera, RasterSettings s, Tensor? viewspaceRgb = null, Tensor? viewspaceFeatures = null)
    {
        TorchRuntime.EnsureInitialised();
        s.Validate();
        var dtype = g.Means.dtype;
        var p = Projection.Project(g, camera, s);
        int n = (int)g.Count, w = camera.Width, h = camera.Height;
        int tilesX = (w + TileBinning.TileSize - 1) / TileBinning.TileSize, tilesY = (h + TileBinning.TileSize - 1) / TileBinning.TileSize;
        float[] m2 = p.Mean2d.detach().to(float32).data<float>().ToArray();
        double[] depth = p.Depth.detach().to(float64).data<double>().ToArray();
        var radii = (int[])p.Radii.Clone();
        var rect = new int[n, 4];
        var order = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (radii[i] == 0) continue;
            var (x0, y0, x1, y1) = TileBinning.TileRect(m2[2 * i], m2[2 * i + 1], radii[i], tilesX, tilesY);
            if (x1 <= x0 || y1 <= y0) { radii[i] = 0; continue; }
            rect[i, 0] = x0; rect[i, 1] = y0; rect[i, 2] = x1; rect[i, 3] = y1;
            order.Add(i);
        }
        // Front to back by float32 depth, ties by index (as the fast path's keys).
        order.Sort((a, b) => { int c = ((float)depth[a]).CompareTo((float)depth[b]); return c != 0 ? c : a.CompareTo(b); });
        int m = order.Count;
        var idx = torch.tensor(order.Select(i => (long)i).ToArray(), dtype: int64); // [M]

        // Pixel centres and their tile coordinates, [P] with P = H * W.
        var pxs = torch.arange(w, dtype: dtype).add(0.5).repeat(h);
        var pys = torch.arange(h, dtype: dtype).add(0.5).repeat_interleave(w);
        var ptx = torch.arange(w, dtype: int64).div(TileBinning.TileSize, rounding_mode: RoundingMode.floor).repeat(h);
        var pty = torch.arange(h, dtype: int64).div(TileBinning.TileSize, rounding_mode: RoundingMode.floor).repeat_interleave(w);
        long[] Col(int c) => order.Select(i => (long)rect[i, c]).ToArray();
        var inRect = (ptx.unsqueeze(0) >= torch.tensor(Col(0)).unsqueeze(1)) & (ptx.unsqueeze(0) < torch.tensor(Col(2)).unsqueeze(1))
                   & (pty.unsqueeze(0) >= torch.tensor(Col(1)).unsqueeze(1)) & (pty.unsqueeze(0) < torch.tensor(Col(3)).unsqueeze(1)); // [M, P]

        Tensor Weights(Tensor mean2d, Tensor conic, Tensor opacity, out Tensor finalT)
        {
            var mu = mean2d.index_select(0, idx); var co = conic.index_select(0, idx); var op = opacity.index_select(0, idx);
            var dx = mu[.., 0].unsqueeze(1) - pxs.unsqueeze(0); // [M, P]
            var dy = mu[.., 1].unsqueeze(1) - pys.unsqueeze(0);
            var power = -0.5 * (co[.., 0].unsqueeze(1) * dx * dx + co[.., 2].unsqueeze(1) * dy * dy) - co[.., 1].unsqueeze(1) * dx * dy;
            var alpha = (op.unsqueeze(1) * power.exp()).clamp_max(TileRasterizer.MaxAlpha);
            var ok = inRect & (power <= 0) & (alpha >= TileRasterizer.MinAlpha);
            alpha = torch.where(ok, alpha, torch.zeros_like(alpha));
            var tIncl = (1 - alpha).cumprod(0); // [M, P] transmittance after each Gaussian
            alpha = torch.where(tIncl >= TileRasterizer.MinTransmittance, alpha, torch.zeros_like(alpha));
            var after = (1 - alpha).cumprod(0);
            var before = torch.cat([torch.ones(1, h * w, dtype: dtype), after[..^1]], 0);
            finalT = after[^1];
            return alpha * before; // [M, P]
        }

        var mean2dRgb = viewspaceRgb is null ? p.Mean2d : p.Mean2d + viewspaceRgb;
        if (m == 0)
        {
            var bgOnly = torch.tensor(s.BackgroundOrBlack.Select(v => (double)v).ToArray(), dtype: dtype).expand(h, w, 3);
            return (bgOnly + 0 * p.Mean2d.sum(), g.Features is null ? null : torch.zeros(h, w, g.Features.shape[1], dtype: dtype),
                torch.zeros(h, w, dtype: dtype), torch.zeros(h, w, dtype: dtype), radii);
        }
        var wts = Weights(mean2dRgb, p.Conic, p.Opacity, out var tFinal);
        var bg = torch.tensor(s.BackgroundOrBlack.Select(v => (double)v).ToArray(), dtype: dtype); // [3]
        var rgb = wts.t().matmul(p.Colours.index_select(0, idx)) + tFinal.unsqueeze(1) * bg.unsqueeze(0); // [P, 3]
        var dep = wts.t().matmul(p.Depth.index_select(0, idx)); // [P]
        var alp = 1 - tFinal;
        Tensor? feat = null;
        if (g.Features is not null)
        {
            Tensor fw;
            if (s.FeatureGradientsReachGeometry)
            {
                var mean2dF = viewspaceFeatures is null ? p.Mean2d : p.Mean2d + viewspaceFeatures;
                fw = Weights(mean2dF, p.Conic, p.Opacity, out _);
            }
            else fw = wts.detach();
            feat = fw.t().matmul(g.Features.index_select(0, idx)).reshape(h, w, -1);
        }
        return (rgb.reshape(h, w, 3), feat, dep.reshape(h, w), alp.reshape(h, w), radii);
    }
}
