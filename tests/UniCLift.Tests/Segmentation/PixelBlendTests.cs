namespace UniCLift.Tests.Segmentation;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Segmentation;
using static TorchSharp.torch;

/// <summary>What a pixel's code thresholds (issue #17): the blend of raw embeddings or of the Gaussians' probabilities.</summary>
public sealed class PixelBlendTests
{
    public PixelBlendTests() => TorchRuntime.EnsureInitialised();

    [Fact]
    public void A_Confident_Minority_Outvotes_The_Majority_Only_In_The_Raw_Blend()
    {
        using var scope = NewDisposeScope();
        // One pixel, one channel: an object Gaussian with weight 0.3 and v = +8 in front of a background Gaussian with
        // weight 0.7 and v = -2. Raw: 2.4 - 1.4 > 0 -> object bit. Probabilities: 0.3 * 0.4997 + 0.7 * (0.1192 - 0.5) < 0.
        var v = torch.tensor(new float[] { 8, -2 }, new long[] { 2, 1 });
        var w = torch.tensor(new float[] { 0.3f, 0.7f }, new long[] { 2, 1 });
        var raw = (v * w).sum(0).reshape(1, 1, 1);
        var probabilities = (EmbeddingDecoder.BlendFeatures(v) * w).sum(0).reshape(1, 1, 1);
        Assert.Equal(new[] { 1 }, EmbeddingDecoder.DecodePixels(raw));
        Assert.Equal(new[] { 0 }, EmbeddingDecoder.DecodePixels(probabilities));
    }

    [Fact]
    public void Every_Gaussian_Keeps_Its_Own_Code()
    {
        using var scope = NewDisposeScope();
        var v = torch.tensor(new float[] { 1, -1, 2, -0.5f, -0.1f, -3, 0.1f, 0.2f, 0.3f, 0, 0, 0.01f }, new long[] { 4, 3 });
        Assert.Equal(EmbeddingDecoder.DecodeGaussians(v), EmbeddingDecoder.DecodeGaussians(EmbeddingDecoder.BlendFeatures(v)));
        Assert.Equal(PixelBlend.Raw, new DecodeOptions().Blend); // the default again since the rooms made elsewhere (DECISIONS.md)
    }
}
