namespace UniCLift.Compute.Rendering;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>EWA projection of 3D Gaussians as in graphdeco's preprocess: camera-space mean, Sigma = R S S^T R^T,
/// Jacobian of the perspective map at the (frustum-clamped) mean, +0.3 px low-pass, conic and 3-sigma radius.
/// Written with TorchSharp ops (autograd differentiates it); it is O(N) and a small part of a step.</summary>
public static class Projection
{
    public const float LowPass = 0.3f;

    public static ProjectedGaussians Project(GaussianTensors g, Camera camera, RasterSettings s)
    {
        var dtype = g.Means.dtype;
        var w2c = camera.WorldToCamera();
        var rot = torch.tensor(new[] { w2c[0], w2c[1], w2c[2], w2c[4], w2c[5], w2c[6], w2c[8], w2c[9], w2c[10] }, dtype: dtype).reshape(3, 3); // [3, 3]
        var trans = torch.tensor(new[] { w2c[3], w2c[7], w2c[11] }, dtype: dtype); // [3]
        var pCam = g.Means.matmul(rot.t()) + trans; // [N, 3]
        var x = pCam.select(1, 0); var y = pCam.select(1, 1); var zRaw = pCam.select(1, 2); // [N]
        var valid = zRaw > s.NearPlane; // [N]
        // Culled Gaussians get z = 1 so nothing downstream divides by ~0; where() passes them no gradient.
        var z = torch.where(valid, zRaw, torch.ones_like(zRaw));
        float fx = (float)camera.Fx, fy = (float)camera.Fy;
        var u = fx * x / z + (float)camera.Cx;
        var v = fy * y / z + (float)camera.Cy;
        var mean2d = torch.stack([u, v], 1); // [N, 2]

        // Sigma = R diag(s^2) R^T from the normalised quaternion.
        var r = Rotation.QuaternionToMatrix(g.Quats); // [N, 3, 3]
        var m = r * g.LogScales.exp().unsqueeze(1); // [N, 3, 3] = R diag(s)
        var sigma = m.matmul(m.transpose(1, 2)); // [N, 3, 3]
        var sigmaCam = rot.matmul(sigma).matmul(rot.t()); // [N, 3, 3]

        // Jacobian at the mean, x/z and y/z clamped to 1.3 x the half field of view (graphdeco), no gradient where clamped.
        float limX = 1.3f * 0.5f * camera.Width / fx, limY = 1.3f * 0.5f * camera.Height / fy;
        var txz = (x / z).clamp(-limX, limX);
        var tyz = (y / z).clamp(-limY, limY);
        var zero = torch.zeros_like(z);
        var j = torch.stack([fx / z, zero, -fx * txz / z, zero, fy / z, -fy * tyz / z], 1).reshape(-1, 2, 3); // [N, 2, 3]
        var cov2 = j.matmul(sigmaCam).matmul(j.transpose(1, 2)); // [N, 2, 2]
        var ca = cov2[.., 0, 0] + LowPass; var cb = cov2[.., 0, 1]; var cc = cov2[.., 1, 1] + LowPass; // [N]
        var det = ca * cc - cb * cb;
        var conic = torch.stack([cc / det, -cb / det, ca / det], 1); // [N, 3]

        var campos = camera.Position;
        var dirs = g.Means - torch.tensor(new[] { campos.X, campos.Y, campos.Z }, dtype: dtype); // [N, 3]
        dirs = dirs / dirs.norm(1, keepdim: true);
        var colours = ShEval.Colour(g.Sh, dirs, s.ShDegree); // [N, 3]
        var opacity = g.OpacityLogits.reshape(-1).sigmoid(); // [N]

        var radii = Radii(ca, cb, cc, valid);
        return new ProjectedGaussians(mean2d, conic, z, opacity, colours, radii);
    }

    /// <summary>ceil(3 sqrt(largest eigenvalue)) of the low-passed 2D covariance, computed in float32 like graphdeco;
    /// 0 for Gaussians behind the near plane or with a singular covariance.</summary>
    private static int[] Radii(Tensor ca, Tensor cb, Tensor cc, Tensor valid)
    {
        using var scope = torch.NewDisposeScope();
        float[] a = ca.detach().to(float32).data<float>().ToArray();
        float[] b = cb.detach().to(float32).data<float>().ToArray();
        float[] c = cc.detach().to(float32).data<float>().ToArray();
        bool[] ok = valid.data<bool>().ToArray();
        var radii = new int[a.Length];
        for (int i = 0; i < a.Length; i++) radii[i] = ok[i] ? RadiusOf(a[i], b[i], c[i]) : 0;
        return radii;
    }

    /// <summary>ceil(3 sqrt(largest eigenvalue)) of the 2D covariance [[a, b], [b, c]] in float32 (graphdeco); 0 when
    /// it is singular or not finite.</summary>
    internal static int RadiusOf(float a, float b, float c)
    {
        float det = a * c - b * b;
        if (det == 0f || !float.IsFinite(det)) return 0;
        float mid = 0.5f * (a + c);
        float l1 = mid + MathF.Sqrt(MathF.Max(0.1f, mid * mid - det));
        float l2 = mid - MathF.Sqrt(MathF.Max(0.1f, mid * mid - det));
        return (int)MathF.Ceiling(3f * MathF.Sqrt(MathF.Max(l1, l2)));
    }
}
