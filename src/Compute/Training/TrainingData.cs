namespace UniCLift.Compute.Training;

using TorchSharp;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using static TorchSharp.torch;

/// <summary>One training view in memory: camera, target image, the 2D instance mask and the boundary index mined from
/// it (what the trainer samples triplets from).</summary>
public sealed class TrainingView : IDisposable
{
    public required string Name { get; init; }
    public required Camera Camera { get; init; }

    /// <summary>The target image as its file's 8-bit RGB, [H,W,3] uint8 on the training device: 3 bytes a pixel where
    /// float32 took 12. Null when the views were loaded without images (lift mode trains no colour).</summary>
    public required Tensor? Image { get; init; }

    public required LabelMap Mask { get; init; }
    public required BoundaryIndex Boundary { get; init; }

    /// <summary>The target image as float32 [H,W,3] in 0..1, made for one step: one operation, the same values as
    /// dividing each byte by 255 in float32.</summary>
    public Tensor Target() =>
        (Image ?? throw new InvalidOperationException($"View '{Name}' was loaded without its image.")).div(Scalars.Of(255.0));

    public void Dispose() => Image?.Dispose();
}

/// <summary>The training split of a scene loaded for a trainer, plus the camera extent that scales learning rates and density control.</summary>
public sealed class TrainingData : IDisposable
{
    public required IReadOnlyList<TrainingView> Views { get; init; }
    /// <summary>graphdeco's cameras_extent: 1.1 x the largest distance of a camera centre from their mean.</summary>
    public required double CameraExtent { get; init; }

    /// <summary>Reads each training view's image and mask once and mines the mask's boundary index from it here, where
    /// the trainer samples triplets.</summary>
    /// <param name="device">Where the images go (uploaded once here; a step never copies them again). Default CPU.</param>
    /// <param name="stuff">Predicted semantic classes whose mask segments are background (<see cref="StuffBackground"/>); null = none.</param>
    /// <param name="images">Whether to read the images (lift mode trains no colour and reads none: each view's
    /// <see cref="TrainingView.Image"/> is then null).</param>
    public static TrainingData Load(Scene scene, Device? device = null, IReadOnlySet<int>? stuff = null, bool images = true)
    {
        if (!scene.HasMasks)
        {
            var missing = scene.Views.First(v => v.MaskPath is null);
            throw new InvalidDataException($"Scene {scene.Root} has no 2D instance mask for view '{missing.Name}': UniC-Lift trains from per-view masks (m2f_instance/ or the layout's mask folder).");
        }
        var names = ViewNames(scene);
        var loaded = new TrainingView[names.Count];
        // Decoding images and mining masks is the slow part of loading: do it in parallel, tensors are made on this thread.
        var raw = new (RgbImage? Image, LabelMap Mask, BoundaryIndex Boundary)[names.Count];
        Parallel.For(0, names.Count, i =>
        {
            var v = scene.View(names[i]);
            var mask = stuff is null ? SceneData.LoadMask(scene, v) : StuffBackground.LoadMask(scene, v, stuff);
            raw[i] = (images ? SceneData.LoadImage(scene, v) : null, mask, BoundaryMiner.Build(mask));
        });
        for (int i = 0; i < names.Count; i++)
        {
            var v = scene.View(names[i]);
            var (img, mask, boundary) = raw[i];
            raw[i] = default; // the decoded file is garbage once its tensor holds it
            loaded[i] = new TrainingView
            {
                Name = v.Name,
                Camera = v.Camera,
                Image = img is null ? null : Upload(HostTensor.Copy(img.Pixels, img.Height, img.Width, 3), device),
                Mask = mask,
                Boundary = boundary,
            };
        }
        return new TrainingData { Views = loaded, CameraExtent = SceneScale.Extent(loaded.Select(v => v.Camera)) };
    }

    private static Tensor Upload(Tensor cpu, Device? device)
    {
        if (device is null || device.type == DeviceType.CPU) return cpu.DetachFromDisposeScope();
        var moved = cpu.to(device).DetachFromDisposeScope();
        cpu.Dispose();
        return moved;
    }

    /// <summary>The views a trainer learns from: the scene's training split, or every view when it has none.</summary>
    public static IReadOnlyList<string> ViewNames(Scene scene) =>
        scene.TrainViews.Count > 0 ? scene.TrainViews : scene.Views.Select(v => v.Name).ToList();

    public void Dispose()
    {
        foreach (var v in Views) v.Dispose();
    }
}
