namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;
using static UniCLift.Compute.Rendering.ShBasis;

/// <summary>The same EWA projection and SH colour as <see cref="Projection.Project"/>, written as a C# loop over
/// Gaussians with a hand-written backward (graphdeco's preprocess / computeCov2D / computeColorFromSH backward) behind
/// one custom autograd function. The TorchSharp version costs tens of small ops plus their autograd graph per step;
/// this is one parallel pass each way. Per-Gaussian work is independent, so results do not depend on scheduling.
/// Arithmetic is in double, outputs float32.</summary>
internal static class FastProjection
{
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
            nint pm = P(means), ps = P(logScales), pq = P(quats), po = P(opac), psh = P(sh);
            nint om = P(mean2d), oc = P(conic), oo = P(opacity), ocol = P(colours), od = P(depth);
            var cam = new Cam(call);
            var radii = call.Radii;
            Parallel.For(0, (n + Block - 1) / Block, b =>
            {
                int i1 = Math.Min(n, (b + 1) * Block);
                double* basis = stackalloc double[16];
                for (int i = b * Block; i < i1; i++)
                    ForwardOne(cam, i, (float*)pm, (float*)ps, (float*)pq, (float*)po, (float*)psh,
                        (float*)om, (float*)oc, (float*)oo, (float*)ocol, (float*)od, radii, basis);
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
            static Tensor? Defined(Tensor t) => t is null || t.IsInvalid ? null : t.contiguous();
            var gm = Defined(grads[0]); var gc = Defined(grads[1]); var go = Defined(grads[2]); var gcol = Defined(grads[3]); var gd = Defined(grads[4]);
            // Uninitialised: the kernel writes every element (zeros where no gradient flows).
            var dMeans = torch.empty(n, 3); var dScales = torch.empty(n, 3); var dQuats = torch.empty(n, 4);
            var dOpac = torch.empty(ins[3].shape); var dSh = torch.empty(ins[4].shape);
            nint pm = P(ins[0]), ps = P(ins[1]), pq = P(ins[2]), po = P(ins[3]), psh = P(ins[4]);
            nint a = P(gm), b2 = P(gc), c = P(go), d = P(gcol), e = P(gd);
            nint om = P(dMeans), os = P(dScales), oq = P(dQuats), oo = P(dOpac), osh = P(dSh);
            var cam = new Cam(call);
            var radii = call.Radii;
            Parallel.For(0, (n + Block - 1) / Block, b =>
            {
                int i1 = Math.Min(n, (b + 1) * Block);
                double* scratch = stackalloc double[32];
                for (int i = b * Block; i < i1; i++)
                    BackwardOne(cam, i, radii[i], (float*)pm, (float*)ps, (float*)pq, (float*)po, (float*)psh,
                        (float*)a, (float*)b2, (float*)c, (float*)d, (float*)e,
                        (float*)om, (float*)os, (float*)oq, (float*)oo, (float*)osh, scratch);
            });
            if (call.Stats is { } st)
            {
                st.ProjectionBackwardMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                st.ProjectionBackwardCpuMs = RasterStats.CpuNow() - c0;
            }
            return [null!, dMeans, dScales, dQuats, dOpac, dSh];
        }
    }

    /// <summary>A float32 tensor's data as an address the parallel loops capture (0 for a missing gradient).</summary>
    private static unsafe nint P(Tensor? t) => t is null || t.IsInvalid ? 0 : (nint)GaussianRasterizer.Ptr(t);

    /// <summary>The camera as plain fields, so the per-Gaussian loops read no arrays (no bounds checks, no reloads).</summary>
    private readonly struct Cam(Call k)
    {
        public readonly double W0 = k.Rot[0], W1 = k.Rot[1], W2 = k.Rot[2], W3 = k.Rot[3], W4 = k.Rot[4], W5 = k.Rot[5],
            W6 = k.Rot[6], W7 = k.Rot[7], W8 = k.Rot[8], T0 = k.Trans[0], T1 = k.Trans[1], T2 = k.Trans[2],
            Ex = k.Eye[0], Ey = k.Eye[1], Ez = k.Eye[2], Fx = k.Fx, Fy = k.Fy, Cx = k.Cx, Cy = k.Cy, LimX = k.LimX, LimY = k.LimY, Near = k.Near;
        public readonly int Degree = k.Degree, K = k.K;
    }

    /// <summary>One Gaussian's 2D covariance and the intermediates its backward needs. With J the projection Jacobian
    /// (2x3), W the world-to-camera rotation and R S the Gaussian's rotation and scale: T = J W, V = T R, U = V S and
    /// cov2 = U U^T + low-pass, i.e. J W (R S S^T R^T) W^T J^T with 2x3 products instead of 3x3 ones.</summary>
    private struct Cov
    {
        public double Qn, Qw, Qx, Qy, Qz;                 // quaternion norm, normalised quaternion
        public double R0, R1, R2, R3, R4, R5, R6, R7, R8; // rotation of the normalised quaternion, row-major
        public double S0, S1, S2;                         // scales
        public double Txz, Tyz, J00, J02, J11, J12;       // clamped x/z, y/z and the Jacobian
        public double T00, T01, T02, T10, T11, T12;       // J W
        public double V00, V01, V02, V10, V11, V12;       // J W R
        public double A, B, C;                            // cov2 = [[A, B], [B, C]] (low-pass included)
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Covariance(in Cam c, double x, double y, double z, float* q, float* ls, out Cov v)
    {
        double qw = q[0], qx = q[1], qy = q[2], qz = q[3];
        v.Qn = Math.Sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
        double inv = 1 / v.Qn;
        double w = v.Qw = qw * inv, xq = v.Qx = qx * inv, yq = v.Qy = qy * inv, zq = v.Qz = qz * inv;
        Rotation.FromUnitQuaternion(w, xq, yq, zq, out v.R0, out v.R1, out v.R2, out v.R3, out v.R4, out v.R5, out v.R6, out v.R7, out v.R8);
        // One vector exp for the three scales (three libm calls were a fifth of the projection).
        var sc = Vector256.Exp(Vector256.Create((double)ls[0], ls[1], ls[2], 0));
        v.S0 = sc.GetElement(0); v.S1 = sc.GetElement(1); v.S2 = sc.GetElement(2);
        double iz = 1 / z;
        v.Txz = Math.Clamp(x * iz, -c.LimX, c.LimX); v.Tyz = Math.Clamp(y * iz, -c.LimY, c.LimY);
        v.J00 = c.Fx * iz; v.J02 = -c.Fx * v.Txz * iz; v.J11 = c.Fy * iz; v.J12 = -c.Fy * v.Tyz * iz;
        v.T00 = v.J00 * c.W0 + v.J02 * c.W6; v.T01 = v.J00 * c.W1 + v.J02 * c.W7; v.T02 = v.J00 * c.W2 + v.J02 * c.W8;
        v.T10 = v.J11 * c.W3 + v.J12 * c.W6; v.T11 = v.J11 * c.W4 + v.J12 * c.W7; v.T12 = v.J11 * c.W5 + v.J12 * c.W8;
        v.V00 = v.T00 * v.R0 + v.T01 * v.R3 + v.T02 * v.R6; v.V01 = v.T00 * v.R1 + v.T01 * v.R4 + v.T02 * v.R7; v.V02 = v.T00 * v.R2 + v.T01 * v.R5 + v.T02 * v.R8;
        v.V10 = v.T10 * v.R0 + v.T11 * v.R3 + v.T12 * v.R6; v.V11 = v.T10 * v.R1 + v.T11 * v.R4 + v.T12 * v.R7; v.V12 = v.T10 * v.R2 + v.T11 * v.R5 + v.T12 * v.R8;
        double u00 = v.V00 * v.S0, u01 = v.V01 * v.S1, u02 = v.V02 * v.S2, u10 = v.V10 * v.S0, u11 = v.V11 * v.S1, u12 = v.V12 * v.S2;
        v.A = u00 * u00 + u01 * u01 + u02 * u02 + Projection.LowPass;
        v.B = u00 * u10 + u01 * u11 + u02 * u12;
        v.C = u10 * u10 + u11 * u11 + u12 * u12 + Projection.LowPass;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardOne(in Cam k, int i, float* means, float* logScales, float* quats, float* opac, float* sh,
        float* outMean, float* outConic, float* outOpac, float* outCol, float* outDepth, int[] radii, double* basis)
    {
        double mx = means[3 * i], my = means[3 * i + 1], mz = means[3 * i + 2];
        double x = k.W0 * mx + k.W1 * my + k.W2 * mz + k.T0;
        double y = k.W3 * mx + k.W4 * my + k.W5 * mz + k.T1;
        double zr = k.W6 * mx + k.W7 * my + k.W8 * mz + k.T2;
        bool valid = zr > k.Near;
        double z = valid ? zr : 1;
        double iz = 1 / z;
        outMean[2 * i] = (float)(k.Fx * x * iz + k.Cx); outMean[2 * i + 1] = (float)(k.Fy * y * iz + k.Cy);
        outDepth[i] = (float)z;
        outOpac[i] = (float)(1 / (1 + Math.Exp(-(double)opac[i])));
        if (!valid)
        {
            // Culled (radius 0): nothing downstream reads its conic or colour, so skip the covariance and the SH.
            outConic[3 * i] = outConic[3 * i + 1] = outConic[3 * i + 2] = 0f;
            outCol[3 * i] = outCol[3 * i + 1] = outCol[3 * i + 2] = 0f;
            radii[i] = 0;
            return;
        }

        Covariance(k, x, y, z, quats + 4 * i, logScales + 3 * i, out var v);
        double idet = 1 / (v.A * v.C - v.B * v.B);
        outConic[3 * i] = (float)(v.C * idet); outConic[3 * i + 1] = (float)(-v.B * idet); outConic[3 * i + 2] = (float)(v.A * idet);
        radii[i] = Projection.RadiusOf((float)v.A, (float)v.B, (float)v.C);

        double dx = mx - k.Ex, dy = my - k.Ey, dz = mz - k.Ez;
        double idn = 1 / Math.Sqrt(dx * dx + dy * dy + dz * dz);
        int kk = Basis(k.Degree, dx * idn, dy * idn, dz * idn, basis);
        var col = ShDot(sh + (long)i * k.K * 3, basis, kk);
        outCol[3 * i] = MathF.Max(col.GetElement(0) + 0.5f, 0); outCol[3 * i + 1] = MathF.Max(col.GetElement(1) + 0.5f, 0);
        outCol[3 * i + 2] = MathF.Max(col.GetElement(2) + 0.5f, 0);
    }

    private static readonly Vector128<float> Mask3 = Vector128.Create(-1, -1, -1, 0).AsSingle();

    /// <summary>sum_b basis[b] * coef[3b..3b+3) in lanes 0..2 (lane 3 is 0), in float. Four partial sums break the FMA
    /// dependency chain; rows are read as 4 floats (the 4th belongs to the next row and is masked off), except the last
    /// one, which may end the tensor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<float> ShDot(float* coef, double* basis, int kk)
    {
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int b = 0;
        for (; b + 4 < kk; b += 4)
        {
            s0 = Vector128.FusedMultiplyAdd(Vector128.Create((float)basis[b]), Vector128.Load(coef + 3 * b), s0);
            s1 = Vector128.FusedMultiplyAdd(Vector128.Create((float)basis[b + 1]), Vector128.Load(coef + 3 * b + 3), s1);
            s2 = Vector128.FusedMultiplyAdd(Vector128.Create((float)basis[b + 2]), Vector128.Load(coef + 3 * b + 6), s2);
            s3 = Vector128.FusedMultiplyAdd(Vector128.Create((float)basis[b + 3]), Vector128.Load(coef + 3 * b + 9), s3);
        }
        for (; b < kk - 1; b++) s0 = Vector128.FusedMultiplyAdd(Vector128.Create((float)basis[b]), Vector128.Load(coef + 3 * b), s0);
        float* l = coef + 3 * (kk - 1);
        s1 = Vector128.FusedMultiplyAdd(Vector128.Create((float)basis[kk - 1]), Vector128.Create(l[0], l[1], l[2], 0f), s1);
        return ((s0 + s1) + (s2 + s3)) & Mask3;
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

    /// <summary>Writes every output row of Gaussian i (the outputs are uninitialised tensors). scratch: 32 doubles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardOne(in Cam k, int i, int radius, float* means, float* logScales, float* quats, float* opac, float* sh,
        float* gMean, float* gConic, float* gOpac, float* gCol, float* gDepth,
        float* dMeans, float* dScales, float* dQuats, float* dOpac, float* dSh, double* scratch)
    {
        float* dcoef = dSh + (long)i * k.K * 3;
        // Gaussians that touched no tile get zero image gradients.
        if (radius == 0 || gConic == null)
        {
            dScales[3 * i] = dScales[3 * i + 1] = dScales[3 * i + 2] = 0f;
            dQuats[4 * i] = dQuats[4 * i + 1] = dQuats[4 * i + 2] = dQuats[4 * i + 3] = 0f;
        }
        if (radius == 0 || gCol == null) new Span<float>(dcoef, k.K * 3).Clear();
        if (radius == 0)
        {
            dMeans[3 * i] = dMeans[3 * i + 1] = dMeans[3 * i + 2] = 0f;
            dOpac[i] = 0f;
            return;
        }
        double sig = 1 / (1 + Math.Exp(-(double)opac[i]));
        dOpac[i] = gOpac != null ? (float)(gOpac[i] * sig * (1 - sig)) : 0f;

        double mx = means[3 * i], my = means[3 * i + 1], mz = means[3 * i + 2];
        double x = k.W0 * mx + k.W1 * my + k.W2 * mz + k.T0;
        double y = k.W3 * mx + k.W4 * my + k.W5 * mz + k.T1;
        double z = k.W6 * mx + k.W7 * my + k.W8 * mz + k.T2; // valid (radius > 0)
        double iz = 1 / z, iz2 = iz * iz;
        double gx = 0, gy = 0, gz = 0;      // d loss / d camera-space mean
        double gmx = 0, gmy = 0, gmz = 0;   // d loss / d world mean (SH direction part)
        if (gMean != null)
        {
            double du = gMean[2 * i], dv = gMean[2 * i + 1];
            gx += du * k.Fx * iz; gy += dv * k.Fy * iz; gz -= (du * k.Fx * x + dv * k.Fy * y) * iz2;
        }
        if (gDepth != null) gz += gDepth[i];

        if (gConic != null)
        {
            Covariance(k, x, y, z, quats + 4 * i, logScales + 3 * i, out var v);
            double rx = x * iz, ry = y * iz;
            bool inX = rx >= -k.LimX && rx <= k.LimX, inY = ry >= -k.LimY && ry <= k.LimY;
            double ca = v.A, cb = v.B, cc = v.C;
            double idet = 1 / (ca * cc - cb * cb), id2 = idet * idet;
            double gA = gConic[3 * i], gB = gConic[3 * i + 1], gC = gConic[3 * i + 2];
            // conic = (cc, -cb, ca) / det.
            double dca = gA * (-cc * cc * id2) + gB * (cb * cc * id2) + gC * (idet - ca * cc * id2);
            double dcb = gA * (2 * cb * cc * id2) + gB * (-idet - 2 * cb * cb * id2) + gC * (2 * ca * cb * id2);
            double dcc = gA * (idet - cc * ca * id2) + gB * (cb * ca * id2) + gC * (-ca * ca * id2);
            // A = U0.U0, B = U0.U1, C = U1.U1 with U = V S: dU0 = 2 dA U0 + dB U1, dU1 = dB U0 + 2 dC U1.
            double u00 = v.V00 * v.S0, u01 = v.V01 * v.S1, u02 = v.V02 * v.S2, u10 = v.V10 * v.S0, u11 = v.V11 * v.S1, u12 = v.V12 * v.S2;
            double du00 = 2 * dca * u00 + dcb * u10, du01 = 2 * dca * u01 + dcb * u11, du02 = 2 * dca * u02 + dcb * u12;
            double du10 = dcb * u00 + 2 * dcc * u10, du11 = dcb * u01 + 2 * dcc * u11, du12 = dcb * u02 + 2 * dcc * u12;
            // U = V diag(s): dV = dU diag(s), ds_b = sum_a dU_ab V_ab; log-scale: times s.
            double ds0 = du00 * v.V00 + du10 * v.V10, ds1 = du01 * v.V01 + du11 * v.V11, ds2 = du02 * v.V02 + du12 * v.V12;
            dScales[3 * i] = (float)(ds0 * v.S0); dScales[3 * i + 1] = (float)(ds1 * v.S1); dScales[3 * i + 2] = (float)(ds2 * v.S2);
            double dv00 = du00 * v.S0, dv01 = du01 * v.S1, dv02 = du02 * v.S2, dv10 = du10 * v.S0, dv11 = du11 * v.S1, dv12 = du12 * v.S2;
            // V = T R: dT = dV R^T, dR = T^T dV.
            double dt00 = dv00 * v.R0 + dv01 * v.R1 + dv02 * v.R2, dt01 = dv00 * v.R3 + dv01 * v.R4 + dv02 * v.R5, dt02 = dv00 * v.R6 + dv01 * v.R7 + dv02 * v.R8;
            double dt10 = dv10 * v.R0 + dv11 * v.R1 + dv12 * v.R2, dt11 = dv10 * v.R3 + dv11 * v.R4 + dv12 * v.R5, dt12 = dv10 * v.R6 + dv11 * v.R7 + dv12 * v.R8;
            double dr0 = v.T00 * dv00 + v.T10 * dv10, dr1 = v.T00 * dv01 + v.T10 * dv11, dr2 = v.T00 * dv02 + v.T10 * dv12;
            double dr3 = v.T01 * dv00 + v.T11 * dv10, dr4 = v.T01 * dv01 + v.T11 * dv11, dr5 = v.T01 * dv02 + v.T11 * dv12;
            double dr6 = v.T02 * dv00 + v.T12 * dv10, dr7 = v.T02 * dv01 + v.T12 * dv11, dr8 = v.T02 * dv02 + v.T12 * dv12;
            // T = J W: J rows (j00, 0, j02), (0, j11, j12).
            double dj00 = dt00 * k.W0 + dt01 * k.W1 + dt02 * k.W2, dj02 = dt00 * k.W6 + dt01 * k.W7 + dt02 * k.W8;
            double dj11 = dt10 * k.W3 + dt11 * k.W4 + dt12 * k.W5, dj12 = dt10 * k.W6 + dt11 * k.W7 + dt12 * k.W8;
            gz += (-dj00 * k.Fx + dj02 * k.Fx * v.Txz - dj11 * k.Fy + dj12 * k.Fy * v.Tyz) * iz2;
            double dtx = -dj02 * k.Fx * iz, dty = -dj12 * k.Fy * iz;
            if (inX) { gx += dtx * iz; gz -= dtx * x * iz2; }
            if (inY) { gy += dty * iz; gz -= dty * y * iz2; }
            double w = v.Qw, xq = v.Qx, yq = v.Qy, zq = v.Qz;
            double dw = 2 * (-zq * dr1 + yq * dr2 + zq * dr3 - xq * dr5 - yq * dr6 + xq * dr7);
            double dxq = 2 * (yq * dr1 + zq * dr2 + yq * dr3 - 2 * xq * dr4 - w * dr5 + zq * dr6 + w * dr7 - 2 * xq * dr8);
            double dyq = 2 * (-2 * yq * dr0 + xq * dr1 + w * dr2 + xq * dr3 + zq * dr5 - w * dr6 + zq * dr7 - 2 * yq * dr8);
            double dzq = 2 * (-2 * zq * dr0 - w * dr1 + xq * dr2 + w * dr3 - 2 * zq * dr4 + yq * dr5 + xq * dr6 + yq * dr7);
            double dot = w * dw + xq * dxq + yq * dyq + zq * dzq, iqn = 1 / v.Qn;
            dQuats[4 * i] = (float)((dw - w * dot) * iqn); dQuats[4 * i + 1] = (float)((dxq - xq * dot) * iqn);
            dQuats[4 * i + 2] = (float)((dyq - yq * dot) * iqn); dQuats[4 * i + 3] = (float)((dzq - zq * dot) * iqn);
        }

        if (gCol != null)
        {
            double ex = mx - k.Ex, ey = my - k.Ey, ez = mz - k.Ez;
            double dn = Math.Sqrt(ex * ex + ey * ey + ez * ez), idn = 1 / dn;
            double x0 = ex * idn, y0 = ey * idn, z0 = ez * idn;
            double* basis = scratch, gb = scratch + 16; // d loss / d basis
            int kk = Basis(k.Degree, x0, y0, z0, basis);
            float* coef = sh + (long)i * k.K * 3;
            var v = ShDot(coef, basis, kk);
            // clamp_min passes gradient where not clamped
            float gc0 = v.GetElement(0) + 0.5f >= 0 ? gCol[3 * i] : 0, gc1 = v.GetElement(1) + 0.5f >= 0 ? gCol[3 * i + 1] : 0,
                gc2 = v.GetElement(2) + 0.5f >= 0 ? gCol[3 * i + 2] : 0;
            var gcv = Vector128.Create(gc0, gc1, gc2, 0f);
            // Rows in order, 4 floats each: the 4th (0) is overwritten by the next row; the last row is written alone.
            for (int b = 0; b < kk - 1; b++)
            {
                (gcv * (float)basis[b]).Store(dcoef + 3 * b);
                gb[b] = Vector128.Sum(gcv * (Vector128.Load(coef + 3 * b) & Mask3));
            }
            {
                int b = kk - 1;
                float bb = (float)basis[b];
                dcoef[3 * b] = gc0 * bb; dcoef[3 * b + 1] = gc1 * bb; dcoef[3 * b + 2] = gc2 * bb;
                gb[b] = gc0 * coef[3 * b] + gc1 * coef[3 * b + 1] + gc2 * coef[3 * b + 2];
            }
            if (kk < k.K) new Span<float>(dcoef + 3 * kk, 3 * (k.K - kk)).Clear();
            if (kk > 1)
            {
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
                gmx += (ddx - x0 * dd) * idn; gmy += (ddy - y0 * dd) * idn; gmz += (ddz - z0 * dd) * idn;
            }
        }
        // p_cam = W m + t.
        dMeans[3 * i] = (float)(k.W0 * gx + k.W3 * gy + k.W6 * gz + gmx);
        dMeans[3 * i + 1] = (float)(k.W1 * gx + k.W4 * gy + k.W7 * gz + gmy);
        dMeans[3 * i + 2] = (float)(k.W2 * gx + k.W5 * gy + k.W8 * gz + gmz);
    }
}
