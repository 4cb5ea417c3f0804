namespace UniCLift.Compute;

using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>Quaternion (w, x, y, z) to rotation matrix: one formula for the tensor path (reference projection,
/// density control) and one for the scalar path (fast projection, camera files).</summary>
public static class Rotation
{
    /// <summary>Quaternions [N,4] (w,x,y,z, normalised here) to rotation matrices [N,3,3]; differentiable.</summary>
    public static Tensor QuaternionToMatrix(Tensor q)
    {
        q = q.div(q.norm(1, keepdim: true).clamp_min(Scalars.Of(1e-12)));
        var w = q[.., 0]; var x = q[.., 1]; var y = q[.., 2]; var z = q[.., 3];
        Scalar one = Scalars.Of(1), two = Scalars.Of(2);
        Tensor Diag(Tensor a, Tensor b) => (a * a).add(b * b, one).mul(two).neg().add(one, one); // 1 - 2 (a^2 + b^2)
        Tensor Off(Tensor a, Tensor b, Tensor c, Tensor d, bool plus) => (plus ? (a * b).add(c * d, one) : (a * b).sub(c * d)).mul(two);
        var rows = new[]
        {
            Diag(y, z), Off(x, y, w, z, false), Off(x, z, w, y, true),
            Off(x, y, w, z, true), Diag(x, z), Off(y, z, w, x, false),
            Off(x, z, w, y, false), Off(y, z, w, x, true), Diag(x, y),
        };
        return stack(rows, 1).reshape(-1, 3, 3);
    }

    /// <summary>Row-major 3x3 rotation (r0..r8) of a unit quaternion; the caller normalises (the fast projection keeps
    /// the norm for its backward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FromUnitQuaternion(double w, double x, double y, double z,
        out double r0, out double r1, out double r2, out double r3, out double r4, out double r5, out double r6, out double r7, out double r8)
    {
        r0 = 1 - 2 * (y * y + z * z); r1 = 2 * (x * y - w * z); r2 = 2 * (x * z + w * y);
        r3 = 2 * (x * y + w * z); r4 = 1 - 2 * (x * x + z * z); r5 = 2 * (y * z - w * x);
        r6 = 2 * (x * z - w * y); r7 = 2 * (y * z + w * x); r8 = 1 - 2 * (x * x + y * y);
    }
}
