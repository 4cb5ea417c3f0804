namespace UniCLift.Tests.Losses;

using TorchSharp;
using static TorchSharp.torch;

internal static class LossTestUtil
{
    /// <summary>Pre-sigmoid features whose sigmoid is exactly the given values: [H,W,D].</summary>
    public static Tensor FromSigmoid(float[] vh, long h, long w, long d)
    {
        var v = vh.Select(p => (float)Math.Log(p / (1.0 - p))).ToArray();
        return torch.tensor(v, new[] { h, w, d });
    }
}
