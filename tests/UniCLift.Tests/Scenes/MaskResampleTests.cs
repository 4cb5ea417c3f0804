namespace UniCLift.Tests.Scenes;

using UniCLift.Compute.IO;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.IO;

/// <summary>Predicted masks made at another resolution than the images (a mask model run at half size): resampled to the
/// images' size by nearest neighbour when their aspect is the images'; ground truth and other shapes are refused.</summary>
public class MaskResampleTests
{
    /// <summary>A 32x24 mask whose left half is 1 and right half 2, bottom row 3.</summary>
    private static LabelMap HalfSizeMask()
    {
        var m = new LabelMap(32, 24);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 32; x++)
                m.Labels[y * 32 + x] = y == 23 ? 3 : x < 16 ? 1 : 2;
        return m;
    }

    [Fact]
    public void A_Half_Size_Mask_Is_Resampled_To_The_Image_And_Noted()
    {
        using var dir = new TempDir();
        ImageIO.WriteLabels16(dir.File("mask.png"), HalfSizeMask());
        ImageIO.WriteLabels16(dir.File("gt.png"), HalfSizeMask());
        var camera = SyntheticGaussians.LookAt(64, 48, 60, (0, 0, 0), (0, 0, 1));
        var view = new SceneView("v", camera, dir.File("image.png"), MaskPath: dir.File("mask.png"), GtInstancePath: dir.File("gt.png"));
        var scene = new Scene(dir.Path, SceneLayout.Nerfstudio, [view], ["v"], ["v"]);

        var mask = SceneData.LoadMask(view);
        Assert.Equal((64, 48), (mask.Width, mask.Height));
        Assert.Equal(1, mask.Labels[10 * 64 + 31]);
        Assert.Equal(2, mask.Labels[10 * 64 + 32]);
        Assert.Equal(3, mask.Labels[46 * 64 + 5]);
        Assert.Equal(1, mask.Labels[45 * 64 + 5]);
        Assert.Equal("its instance masks are 32x24 and its images 64x48: the masks are resampled to the images' size (nearest neighbour)",
            SceneData.MaskResampleNote(scene));
        // Ground truth is scored as given: it must have the images' size.
        Assert.Contains("ground-truth instance map is 32x24, but view 'v' has a 64x48 camera",
            Assert.Throws<InvalidDataException>(() => SceneData.LoadGtInstance(scene, view)).Message);
        // At --downscale 2 the same mask is the camera's size once resampled to the file's.
        var half = scene.Downscaled(2).Views[0];
        Assert.Equal((32, 24), (SceneData.LoadMask(half).Width, SceneData.LoadMask(half).Height));
        Assert.Null(SceneData.MaskResampleNote(scene with { Views = [view with { MaskPath = dir.File("gt.png"), Camera = SyntheticGaussians.LookAt(32, 24, 60, (0, 0, 0), (0, 0, 1)) }] }));
    }

    [Fact]
    public void A_Mask_Of_Another_Aspect_Is_Refused()
    {
        using var dir = new TempDir();
        ImageIO.WriteLabels16(dir.File("mask.png"), new LabelMap(32, 32));
        var view = new SceneView("v", SyntheticGaussians.LookAt(64, 48, 60, (0, 0, 0), (0, 0, 1)), dir.File("image.png"), MaskPath: dir.File("mask.png"));
        Assert.Contains("instance mask is 32x32, but view 'v' has a 64x48 camera.",
            Assert.Throws<InvalidDataException>(() => SceneData.LoadMask(view)).Message);
        Assert.Equal((65, 49), SceneData.ResampledSize(view with { Camera = SyntheticGaussians.LookAt(65, 49, 60, (0, 0, 0), (0, 0, 1)) }, 32, 24));
    }
}
