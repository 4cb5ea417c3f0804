namespace UniCLift.Compute.Segmentation;

/// <summary>What a pixel's code thresholds: the blend of the Gaussians' raw embeddings v or of their probabilities sigmoid(v).</summary>
public enum PixelBlend
{
    /// <summary>sum_i w_i v_i &gt; 0 (the rendered embedding image the losses see, thresholded as it is).</summary>
    Raw,

    /// <summary>sum_i w_i (sigmoid(v_i) - 1/2) &gt; 0: a vote of the Gaussians weighted by blend weight and bounded confidence.</summary>
    Probabilities,
}
