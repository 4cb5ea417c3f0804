namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>The same EWA projection and SH colour as <see cref="Projection.Project"/>, written as a C# loop over
/// Gaussians with a hand-written backward (graphdeco's preprocess / computeCov2D / computeColorFromSH backward) behind
/// one custom autograd function. The TorchSharp version costs tens of small ops plus their autograd graph per step;
/// this is one parallel pass each way. Per-Gaussian work is independent, so results do not depend on scheduling.
/// Arithmetic is in double, outputs float32.</summary>
internal static class FastProjection
{
    private const double C0 = 0.28209479177387814, C1 = 0.4886025119029199;
    private const double C20 = 1.0925484305920792, C21 = -1.0925484305920792, C22 = 0.31539156525252005, C23 = -1.0925484305920792, C24 = 0.5462742152960396;
    private const double C30 = -0.5900435899266435, C31 = 2.890611442640554, C32 = -0.4570457994644658, C33 = 0.3731763325901154,
        C34 = -0.4570457994644658, C35 = 1.445305721320277, C36 = -0.5900435899266435;
    private const int Block = 256;

    internal sealed class Call
    {
        public required double[] Rot;   // [9] world-to-camera rotation, row-major
        public required double[] Trans; // [3]
        public required double[] Eye;   // [3] camera centre
        public required double Fx, Fy, Cx, Cy, LimX, LimY, Near;
        public required int Degree, N, K;
        public int[] Radii = [];
        /// <summary>Where the backward records its time (the render's stats), if anywhere.</summary>
        public RasterStats? Stats;
    }

    /// <summary>Projects the Gaussians; outputs are differentiable w.r.t. means, log-scales, quats, opacity logits and SH.</summary>
    public static ProjectedGaussians Project(GaussianTensors g, Camera camera, RasterSettings s) => Project(g, camera, s, out _);

    internal static ProjectedGaussians Project(GaussianTensors g, Camera camera, RasterSettings s, out Call call)
    {
        var w2c = camera.WorldToCamera();
        float fx = (float)camera.Fx, fy = (float)camera.Fy;
        var eye = camera.Position;
        int n = (int)g.Count;
        call = new Call
        {
            Rot = [w2c[0], w2c[1], w2c[2], w2c[4], w2c[5], w2c[6], w2c[8], w2c[9], w2c[10]],
            Trans = [w2c[3], w2c[7], w2c[11]],
            Eye = [eye.X, eye.Y, eye.Z],
            Fx = fx, Fy = fy, Cx = (float)camera.Cx, Cy = (float)camera.Cy,
            // As the torch version: the limits are float32 expressions.
            LimX = 1.3f * 0.5f * camera.Width / fx, LimY = 1.3f * 0.5f * camera.Height / fy,
            Near = s.NearPlane, Degree = s.ShDegree, N = n, K = (int)g.Sh.shape[1],
            Radii = new int[n],
        };
        var outs = ProjectFunction.apply(call, g.Means.contiguous(), g.LogScales.contiguous(), g.Quats.contiguous(),
            g.OpacityLogits.contiguous(), g.Sh.contiguous());
        return new ProjectedGaussians(outs[0], outs[1], outs[4], outs[2], outs[3], call.Radii);
    }

    /// <summary>Inputs: call, means [N,3], logScales [N,3], quats [N,4], opacityLogits [N] or [N,1], sh [N,K,3].
    /// Outputs: mean2d [N,2], conic [N,3], opacity [N], colours [N,3], depth [N].</summary>
    private sealed class ProjectFunction : torch.autograd.MultiTensorFunction<ProjectFunction>
    {
        public override string Name => "GaussianProject";

        public override unsafe List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var call = (Call)vars[0];
            var means = (Tensor)vars[1]; var logScales = (Tensor)vars[2]; var quats = (Tensor)vars[3];
            var opac = (Tensor)vars[4]; var sh = (Tensor)vars[5];
            int n = call.N;
            var mean2d = torch.empty(n, 2); var conic = torch.empty(n, 3); var opacity = torch.empty(n);
            var colours = torch.empty(n, 3); var depth = torch.empty(n);
            nint pm = (nint)GaussianRasterizer.Ptr(means), ps = (nint)GaussianRasterizer.Ptr(logScales), pq = (nint)GaussianRasterizer.Ptr(quats),
                po = (nint)GaussianRasterizer.Ptr(opac), psh = (nint)GaussianRasterizer.Ptr(sh);
            nint om = (nint)GaussianRasterizer.Ptr(mean2d), oc = (nint)GaussianRasterizer.Ptr(conic), oo = (nint)GaussianRasterizer.Ptr(opacity),
                ocol = (nint)GaussianRasterizer.Ptr(colours), od = (nint)GaussianRasterizer.Ptr(depth);
            Parallel.For(0, (n + Block - 1) / Block, b =>
            {
                int i1 = Math.Min(n, (b + 1) * Block);
                for (int i = b * Block; i < i1; i++)
                    ForwardOne(call, i, (float*)pm, (float*)ps, (float*)pq, (float*)po, (float*)psh,
                        (float*)om, (float*)oc, (float*)oo, (float*)ocol, (float*)od);
            });
            ctx.save_data("call", call);
            ctx.save_data("in", new[] { means, logScales, quats, opac, sh });
            return [mean2d, conic, opacity, colours, depth];
        }

        public override unsafe List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            double c0 = RasterStats.CpuNow();
            var call = (Call)ctx.get_data("call");
            var ins = (Tensor[])ctx.get_data("in");
            int n = call.N;
            static nint P(Tensor? t) => t is null || t.IsInvalid ? 0 : (nint)GaussianRasterizer.Ptr(t);
            static Tensor? Defined(Tensor t) => t is null || t.IsInvalid ? null : t.contiguous();
            var gm = Defined(grads[0]); var gc = Defined(grads[1]); var go = Defined(grads[2]); var gcol = Defined(grads[3]); var gd = Defined(grads[4]);
            var dMeans = torch.zeros(n, 3); var dScales = torch.zeros(n, 3); var dQuats = torch.zeros(n, 4);
            var dOpac = torch.zeros(ins[3].shape); var dSh = torch.zeros(ins[4].shape);
            nint pm = P(ins[0]), ps = P(ins[1]), pq = P(ins[2]), po = P(ins[3]), psh = P(ins[4]);
            nint a = P(gm), b2 = P(gc), c = P(go), d = P(gcol), e = P(gd);
            nint om = P(dMeans), os = P(dScales), oq = P(dQuats), oo = P(dOpac), osh = P(dSh);
            Parallel.For(0, (n + Block - 1) / Block, b =>
            {
                int i1 = Math.Min(n, (b + 1) * Block);
                for (int i = b * Block; i < i1; i++)
                    BackwardOne(call, i, (float*)pm, (float*)ps, (float*)pq, (float*)po, (float*)psh,
                        (float*)a, (float*)b2, (float*)c, (float*)d, (float*)e,
                        (float*)om, (float*)os, (float*)oq, (float*)oo, (float*)osh);
            });
            if (call.Stats is { } st)
            {
                st.ProjectionBackwardMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                st.ProjectionBackwardCpuMs = RasterStats.CpuNow() - c0;
            }
            return [null!, dMeans, dScales, dQuats, dOpac, dSh];
        }
    }

    /// <summary>Quaternion (normalised) to rotation, row-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Rotation(double w, double x, double y, double z, double* r)
    {
        r[0] = 1 - 2 * (y * y + z * z); r[1] = 2 * (x * y - w * z); r[2] = 2 * (x * z + w * y);
        r[3] = 2 * (x * y + w * z); r[4] = 1 - 2 * (x * x + z * z); r[5] = 2 * (y * z - w * x);
        r[6] = 2 * (x * z - w * y); r[7] = 2 * (y * z + w * x); r[8] = 1 - 2 * (x * x + y * y);
    }

    /// <summary>Camera-space covariance W R S S^T R^T W^T into sc (row-major 3x3); m receives R S.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void CameraCovariance(double[] w, double* rq, double* s, double* m, double* sc)
    {
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) m[3 * i + j] = rq[3 * i + j] * s[j];
        var sig = stackalloc double[9]; var t = stackalloc double[9];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) sig[3 * i + j] = m[3 * i] * m[3 * j] + m[3 * i + 1] * m[3 * j + 1] + m[3 * i + 2] * m[3 * j + 2];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) t[3 * i + j] = w[3 * i] * sig[j] + w[3 * i + 1] * sig[3 + j] + w[3 * i + 2] * sig[6 + j];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) sc[3 * i + j] = t[3 * i] * w[3 * j] + t[3 * i + 1] * w[3 * j + 1] + t[3 * i + 2] * w[3 * j + 2];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardOne(Call k, int i, float* means, float* logScales, float* quats, float* opac, float* sh,
        float* outMean, float* outConic, float* outOpac, float* outCol, float* outDepth)
    {
        double mx = means[3 * i], my = means[3 * i + 1], mz = means[3 * i + 2];
        var R = k.Rot;
        double x = R[0] * mx + R[1] * my + R[2] * mz + k.Trans[0];
        double y = R[3] * mx + R[4] * my + R[5] * mz + k.Trans[1];
        double zr = R[6] * mx + R[7] * my + R[8] * mz + k.Trans[2];
        bool valid = zr > k.Near;
        double z = valid ? zr : 1;
        outMean[2 * i] = (float)(k.Fx * x / z + k.Cx); outMean[2 * i + 1] = (float)(k.Fy * y / z + k.Cy);
        outDepth[i] = (float)z;
        outOpac[i] = (float)(1 / (1 + Math.Exp(-(double)opac[i])));

        double qw = quats[4 * i], qx = quats[4 * i + 1], qy = quats[4 * i + 2], qz = quats[4 * i + 3];
        double qn = Math.Sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
        var rq = stackalloc double[9]; var s = stackalloc double[3]; var m = stackalloc double[9]; var sc = stackalloc double[9];
        Rotation(qw / qn, qx / qn, qy / qn, qz / qn, rq);
        for (int a = 0; a < 3; a++) s[a] = Math.Exp(logScales[3 * i + a]);
        CameraCovariance(R, rq, s, m, sc);
        double txz = Math.Clamp(x / z, -k.LimX, k.LimX), tyz = Math.Clamp(y / z, -k.LimY, k.LimY);
        double j00 = k.Fx / z, j02 = -k.Fx * txz / z, j11 = k.Fy / z, j12 = -k.Fy * tyz / z;
        // cov2 = J Sc J^T with J = [[j00, 0, j02], [0, j11, j12]].
        double ca = j00 * (j00 * sc[0] + j02 * sc[2]) + j02 * (j00 * sc[6] + j02 * sc[8]) + Projection.LowPass;
        double cb = j00 * (j11 * sc[1] + j12 * sc[2]) + j02 * (j11 * sc[7] + j12 * sc[8]);
        double cc = j11 * (j11 * sc[4] + j12 * sc[5]) + j12 * (j11 * sc[7] + j12 * sc[8]) + Projection.LowPass;
        double det = ca * cc - cb * cb;
        outConic[3 * i] = (float)(cc / det); outConic[3 * i + 1] = (float)(-cb / det); outConic[3 * i + 2] = (float)(ca / det);
        k.Radii[i] = valid ? Projection.RadiusOf((float)ca, (float)cb, (float)cc) : 0;

        double dx = mx - k.Eye[0], dy = my - k.Eye[1], dz = mz - k.Eye[2];
        double dn = Math.Sqrt(dx * dx + dy * dy + dz * dz);
        var basis = stackalloc double[16];
        int kk = Basis(k.Degree, dx / dn, dy / dn, dz / dn, basis);
        float* coef = sh + (long)i * k.K * 3;
        for (int c = 0; c < 3; c++)
        {
            double v = 0;
            for (int b = 0; b < kk; b++) v += basis[b] * coef[3 * b + c];
            outCol[3 * i + c] = (float)Math.Max(v + 0.5, 0);
        }
    }

    private static unsafe int Basis(int degree, double x, double y, double z, double* b)
    {
        b[0] = C0;
        if (degree < 1) return 1;
        b[1] = -C1 * y; b[2] = C1 * z; b[3] = -C1 * x;
        if (degree < 2) return 4;
        double xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
        b[4] = C20 * xy; b[5] = C21 * yz; b[6] = C22 * (2 * zz - xx - yy); b[7] = C23 * xz; b[8] = C24 * (xx - yy);
        if (degree < 3) return 9;
        b[9] = C30 * y * (3 * xx - yy); b[10] = C31 * xy * z; b[11] = C32 * y * (4 * zz - xx - yy);
        b[12] = C33 * z * (2 * zz - 3 * xx - 3 * yy); b[13] = C34 * x * (4 * zz - xx - yy); b[14] = C35 * z * (xx - yy);
        b[15] = C36 * x * (xx - 3 * yy);
        return 16;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardOne(Call k, int i, float* means, float* logScales, float* quats, float* opac, float* sh,
        float* gMean, float* gConic, float* gOpac, float* gCol, float* gDepth,
        float* dMeans, float* dScales, float* dQuats, float* dOpac, float* dSh)
    {
        // Gaussians that touched no tile get zero image gradients (outputs are zeroed already).
        if (k.Radii[i] == 0) return;
        double sig = 1 / (1 + Math.Exp(-(double)opac[i]));
        if (gOpac != null) dOpac[i] = (float)(gOpac[i] * sig * (1 - sig));

        double mx = means[3 * i], my = means[3 * i + 1], mz = means[3 * i + 2];
        var R = k.Rot;
        double x = R[0] * mx + R[1] * my + R[2] * mz + k.Trans[0];
        double y = R[3] * mx + R[4] * my + R[5] * mz + k.Trans[1];
        double z = R[6] * mx + R[7] * my + R[8] * mz + k.Trans[2]; // valid (radius > 0)
        double gx = 0, gy = 0, gz = 0;      // d loss / d camera-space mean
        double gmx = 0, gmy = 0, gmz = 0;   // d loss / d world mean (SH direction part)
        if (gMean != null)
        {
            double du = gMean[2 * i], dv = gMean[2 * i + 1];
            gx += du * k.Fx / z; gy += dv * k.Fy / z; gz -= (du * k.Fx * x + dv * k.Fy * y) / (z * z);
        }
        if (gDepth != null) gz += gDepth[i];

        if (gConic != null)
        {
            double qw = quats[4 * i], qx = quats[4 * i + 1], qy = quats[4 * i + 2], qz = quats[4 * i + 3];
            double qn = Math.Sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
            double w = qw / qn, xq = qx / qn, yq = qy / qn, zq = qz / qn;
            var rq = stackalloc double[9]; var s = stackalloc double[3]; var m = stackalloc double[9]; var sc = stackalloc double[9];
            Rotation(w, xq, yq, zq, rq);
            for (int a = 0; a < 3; a++) s[a] = Math.Exp(logScales[3 * i + a]);
            CameraCovariance(R, rq, s, m, sc);
            double rx = x / z, ry = y / z;
            bool inX = rx >= -k.LimX && rx <= k.LimX, inY = ry >= -k.LimY && ry <= k.LimY;
            double txz = Math.Clamp(rx, -k.LimX, k.LimX), tyz = Math.Clamp(ry, -k.LimY, k.LimY);
            double j00 = k.Fx / z, j02 = -k.Fx * txz / z, j11 = k.Fy / z, j12 = -k.Fy * tyz / z;
            double ca = j00 * (j00 * sc[0] + j02 * sc[2]) + j02 * (j00 * sc[6] + j02 * sc[8]) + Projection.LowPass;
            double cb = j00 * (j11 * sc[1] + j12 * sc[2]) + j02 * (j11 * sc[7] + j12 * sc[8]);
            double cc = j11 * (j11 * sc[4] + j12 * sc[5]) + j12 * (j11 * sc[7] + j12 * sc[8]) + Projection.LowPass;
            double det = ca * cc - cb * cb, d2 = det * det;
            double gA = gConic[3 * i], gB = gConic[3 * i + 1], gC = gConic[3 * i + 2];
            // conic = (cc, -cb, ca) / det.
            double dca = gA * (-cc * cc / d2) + gB * (cb * cc / d2) + gC * (1 / det - ca * cc / d2);
            double dcb = gA * (2 * cb * cc / d2) + gB * (-1 / det - 2 * cb * cb / d2) + gC * (2 * ca * cb / d2);
            double dcc = gA * (1 / det - cc * ca / d2) + gB * (cb * ca / d2) + gC * (-ca * ca / d2);
            // cov2 = J Sc J^T; symmetric gradient G = [[dca, dcb/2], [dcb/2, dcc]].
            double g00 = dca, g01 = 0.5 * dcb, g11 = dcc;
            // dSc = J^T G J (3x3, symmetric); J rows: r0 = (j00, 0, j02), r1 = (0, j11, j12).
            var dsc = stackalloc double[9];
            double* r0 = stackalloc double[3] { j00, 0, j02 };
            double* r1 = stackalloc double[3] { 0, j11, j12 };
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    dsc[3 * a + b] = g00 * r0[a] * r0[b] + g01 * (r0[a] * r1[b] + r1[a] * r0[b]) + g11 * r1[a] * r1[b];
            // dJ = 2 G J Sc (2x3).
            var js = stackalloc double[6];
            for (int b = 0; b < 3; b++)
            {
                js[b] = r0[0] * sc[b] + r0[1] * sc[3 + b] + r0[2] * sc[6 + b];
                js[3 + b] = r1[0] * sc[b] + r1[1] * sc[3 + b] + r1[2] * sc[6 + b];
            }
            double dj00 = 2 * (g00 * js[0] + g01 * js[3]), dj02 = 2 * (g00 * js[2] + g01 * js[5]);
            double dj11 = 2 * (g01 * js[1] + g11 * js[4]), dj12 = 2 * (g01 * js[2] + g11 * js[5]);
            double z2 = z * z;
            gz += -dj00 * k.Fx / z2 + dj02 * k.Fx * txz / z2 - dj11 * k.Fy / z2 + dj12 * k.Fy * tyz / z2;
            double dtx = -dj02 * k.Fx / z, dty = -dj12 * k.Fy / z;
            if (inX) { gx += dtx / z; gz -= dtx * x / z2; }
            if (inY) { gy += dty / z; gz -= dty * y / z2; }
            // Sc = W Sigma W^T: dSigma = W^T dSc W.
            var t = stackalloc double[9]; var dsig = stackalloc double[9];
            for (int a = 0; a < 3; a++) for (int b = 0; b < 3; b++) t[3 * a + b] = R[a] * dsc[b] + R[3 + a] * dsc[3 + b] + R[6 + a] * dsc[6 + b];
            for (int a = 0; a < 3; a++) for (int b = 0; b < 3; b++) dsig[3 * a + b] = t[3 * a] * R[b] + t[3 * a + 1] * R[3 + b] + t[3 * a + 2] * R[6 + b];
            // Sigma = M M^T: dM = (dSigma + dSigma^T) M.
            var dm = stackalloc double[9];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                {
                    double v = 0;
                    for (int c = 0; c < 3; c++) v += (dsig[3 * a + c] + dsig[3 * c + a]) * m[3 * c + b];
                    dm[3 * a + b] = v;
                }
            // M = Rq diag(s).
            var dr = stackalloc double[9];
            for (int b = 0; b < 3; b++)
            {
                double ds = 0;
                for (int a = 0; a < 3; a++) { dr[3 * a + b] = dm[3 * a + b] * s[b]; ds += dm[3 * a + b] * rq[3 * a + b]; }
                dScales[3 * i + b] = (float)(ds * s[b]);
            }
            double dw = 2 * (-zq * dr[1] + yq * dr[2] + zq * dr[3] - xq * dr[5] - yq * dr[6] + xq * dr[7]);
            double dxq = 2 * (yq * dr[1] + zq * dr[2] + yq * dr[3] - 2 * xq * dr[4] - w * dr[5] + zq * dr[6] + w * dr[7] - 2 * xq * dr[8]);
            double dyq = 2 * (-2 * yq * dr[0] + xq * dr[1] + w * dr[2] + xq * dr[3] + zq * dr[5] - w * dr[6] + zq * dr[7] - 2 * yq * dr[8]);
            double dzq = 2 * (-2 * zq * dr[0] - w * dr[1] + xq * dr[2] + w * dr[3] - 2 * zq * dr[4] + yq * dr[5] + xq * dr[6] + yq * dr[7]);
            double dot = w * dw + xq * dxq + yq * dyq + zq * dzq;
            dQuats[4 * i] = (float)((dw - w * dot) / qn); dQuats[4 * i + 1] = (float)((dxq - xq * dot) / qn);
            dQuats[4 * i + 2] = (float)((dyq - yq * dot) / qn); dQuats[4 * i + 3] = (float)((dzq - zq * dot) / qn);
        }

        if (gCol != null)
        {
            double ex = mx - k.Eye[0], ey = my - k.Eye[1], ez = mz - k.Eye[2];
            double dn = Math.Sqrt(ex * ex + ey * ey + ez * ez);
            double x0 = ex / dn, y0 = ey / dn, z0 = ez / dn;
            var basis = stackalloc double[16];
            int kk = Basis(k.Degree, x0, y0, z0, basis);
            float* coef = sh + (long)i * k.K * 3;
            float* dcoef = dSh + (long)i * k.K * 3;
            double gc0 = 0, gc1 = 0, gc2 = 0;
            for (int c = 0; c < 3; c++)
            {
                double v = 0;
                for (int b = 0; b < kk; b++) v += basis[b] * coef[3 * b + c];
                double g = v + 0.5 >= 0 ? gCol[3 * i + c] : 0; // clamp_min passes gradient where not clamped
                if (c == 0) gc0 = g; else if (c == 1) gc1 = g; else gc2 = g;
                for (int b = 0; b < kk; b++) dcoef[3 * b + c] = (float)(g * basis[b]);
            }
            if (kk > 1)
            {
                var gb = stackalloc double[16]; // d loss / d basis
                for (int b = 0; b < kk; b++) gb[b] = gc0 * coef[3 * b] + gc1 * coef[3 * b + 1] + gc2 * coef[3 * b + 2];
                double ddx = -C1 * gb[3], ddy = -C1 * gb[1], ddz = C1 * gb[2];
                if (kk > 4)
                {
                    ddx += C20 * y0 * gb[4] - 2 * x0 * C22 * gb[6] + C23 * z0 * gb[7] + 2 * x0 * C24 * gb[8];
                    ddy += C20 * x0 * gb[4] + C21 * z0 * gb[5] - 2 * y0 * C22 * gb[6] - 2 * y0 * C24 * gb[8];
                    ddz += C21 * y0 * gb[5] + 4 * z0 * C22 * gb[6] + C23 * x0 * gb[7];
                }
                if (kk > 9)
                {
                    double xx = x0 * x0, yy = y0 * y0, zz = z0 * z0;
                    ddx += C30 * 6 * x0 * y0 * gb[9] + C31 * y0 * z0 * gb[10] - C32 * 2 * x0 * y0 * gb[11] - C33 * 6 * x0 * z0 * gb[12]
                         + C34 * (4 * zz - 3 * xx - yy) * gb[13] + C35 * 2 * x0 * z0 * gb[14] + C36 * (3 * xx - 3 * yy) * gb[15];
                    ddy += C30 * (3 * xx - 3 * yy) * gb[9] + C31 * x0 * z0 * gb[10] + C32 * (4 * zz - xx - 3 * yy) * gb[11] - C33 * 6 * y0 * z0 * gb[12]
                         - C34 * 2 * x0 * y0 * gb[13] - C35 * 2 * y0 * z0 * gb[14] - C36 * 6 * x0 * y0 * gb[15];
                    ddz += C31 * x0 * y0 * gb[10] + C32 * 8 * y0 * z0 * gb[11] + C33 * (6 * zz - 3 * xx - 3 * yy) * gb[12]
                         + C34 * 8 * x0 * z0 * gb[13] + C35 * (xx - yy) * gb[14];
                }
                // dir = e / |e|.
                double dd = x0 * ddx + y0 * ddy + z0 * ddz;
                gmx += (ddx - x0 * dd) / dn; gmy += (ddy - y0 * dd) / dn; gmz += (ddz - z0 * dd) / dn;
            }
        }
        // p_cam = W m + t.
        dMeans[3 * i] = (float)(R[0] * gx + R[3] * gy + R[6] * gz + gmx);
        dMeans[3 * i + 1] = (float)(R[1] * gx + R[4] * gy + R[7] * gz + gmy);
        dMeans[3 * i + 2] = (float)(R[2] * gx + R[5] * gy + R[8] * gz + gmz);
    }
}
